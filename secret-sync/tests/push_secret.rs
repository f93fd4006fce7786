//! PushSecrets through the real controller on a real kube-apiserver,
//! against the emulated Entra ID and Key Vault, the vault read back
//! through Microsoft's Python SDK (`python/vault_state.py`): ESO's
//! PushSecret controller cases (external-secrets/external-secrets
//! `pkg/controllers/pushsecret/pushsecret_controller_test.go`) that Key
//! Vault and workload identity can express, and its azurekv provider's
//! safety rule: an object without `managed-by: external-secrets` is never
//! changed or deleted, by `Replace`, `IfNotExists` or `Delete`.
//!
//! Needs Microsoft's Python SDK (`azure-identity`,
//! `azure-keyvault-secrets`, `-keys`, `-certificates`), as `.ci/run`
//! installs it.
#![allow(clippy::unwrap_used)]

#[path = "support/key_vault.rs"]
mod key_vault;
#[path = "support/push.rs"]
mod push_support;
mod support;

use std::time::Duration;

use azure_wi_control_plane::ControlPlane;
use azure_wi_emulator::{
    Config,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID},
};
use key_vault::{OFFICERS, grant};
use push_support::{FINALIZER, World, eso_tag, found, gone, in_stores, push_secret_yaml};
use serde_json::json;
use support::{
    Cluster, apply, events_about, eventually, secret_store, secret_yaml, service_account, trusting,
};

const NS: &str = "push";
const SA: &str = "push-sa";
const VAULT: &str = "orders-kv";

fn config(plane: &ControlPlane) -> Config {
    let mut config = trusting(Config::demo_with_keys_and_certificates(), plane, NS, SA);
    grant(&mut config, DEMO_OBJECT_ID, &OFFICERS, VAULT);
    config
}

/// A PushSecret `name` from `source` to store `kv` with `spec` (YAML
/// lines under `spec:`, indented by two).
fn push_secret(name: &str, spec: &str) -> String {
    push_secret_yaml(
        NS,
        name,
        &format!("  secretStoreRefs: [{{name: kv}}]\n{spec}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_secrets_write_the_vault_as_esos_controller_does() {
    let cluster = Cluster::start(config, &[NS]).await;
    let client = &cluster.client;
    apply(
        client,
        NS,
        &format!(
            "{}---\n{}{}",
            service_account(NS, SA, DEMO_CLIENT_ID),
            secret_store(NS, "kv", "", VAULT, SA),
            secret_yaml(NS, "source", "", "{password: hunter2, username: app}")
        ),
    )
    .await;
    let w = World::new(&cluster, NS, SA).await;
    let db_password_before = found(
        &w.vault_state(VAULT, &["secret/db-password"]).await,
        "secret/db-password",
    )
    .clone();
    assert!(
        db_password_before["tags"].get("managed-by").is_none(),
        "the demo's secret is not ESO's: {db_password_before}"
    );

    // "should push to a SecretStore" and "should push the whole Secret":
    // one key with metadata, and the whole Secret as sorted compact JSON.
    let metadata = "{apiVersion: kubernetes.external-secrets.io/v1alpha1, kind: PushSecretMetadata, spec: {tags: {team: a}, contentType: text/plain}}";
    w.apply(&push_secret(
        "basic",
        &format!(
            "  refreshInterval: 1s
  selector: {{secret: {{name: source}}}}
  data:
  - match: {{secretKey: password, remoteRef: {{remoteKey: pushed-password}}}}
    metadata: {metadata}
  - match: {{remoteRef: {{remoteKey: pushed-all}}}}
"
        ),
    ))
    .await;
    w.synced_ok("basic").await;
    assert_eq!(
        w.synced("basic").await,
        in_stores(&[("SecretStore/kv", &["pushed-all", "pushed-password"])])
    );
    assert!(!events_about(client, NS, "basic", "Synced").await.is_empty());
    let state = w
        .vault_state(VAULT, &["secret/pushed-password", "secret/pushed-all"])
        .await;
    let pushed = found(&state, "secret/pushed-password");
    assert_eq!(pushed["value"], "hunter2");
    assert_eq!(
        pushed["tags"],
        json!({"managed-by": "external-secrets", "team": "a"})
    );
    assert_eq!(pushed["content_type"], "text/plain");
    assert_eq!(pushed["versions"], 1);
    assert_eq!(
        found(&state, "secret/pushed-all")["value"],
        r#"{"password":"hunter2","username":"app"}"#
    );
    // Refreshes that find the vault current write nothing: no new version.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = w.vault_state(VAULT, &["secret/pushed-password"]).await;
    assert_eq!(found(&state, "secret/pushed-password")["versions"], 1);
    // A changed source is pushed at the next refresh, as a new version.
    w.patch_secret("source", json!({"stringData": {"password": "hunter3"}}))
        .await;
    let state = eventually(
        Duration::from_secs(20),
        "the new value in the vault",
        || async {
            let state = w.vault_state(VAULT, &["secret/pushed-password"]).await;
            (found(&state, "secret/pushed-password")["value"] == "hunter3").then_some(state)
        },
    )
    .await;
    assert_eq!(found(&state, "secret/pushed-password")["versions"], 2);

    // An object ESO did not make: Replace is refused and says why;
    // IfNotExists leaves it alone and says so.
    w.apply(&format!(
        "{}{}",
        push_secret(
            "replace-foreign",
            "  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: db-password}}
"
        ),
        push_secret(
            "if-not-exists",
            "  updatePolicy: IfNotExists
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: db-password}}
  - match: {secretKey: username, remoteRef: {remoteKey: fresh-user}}
"
        )
    ))
    .await;
    w.errored(
        "replace-foreign",
        "set secret failed: could not write remote ref password to target secretstore kv: cannot get secret db-password: not managed by external-secrets",
    )
    .await;
    assert!(
        !events_about(client, NS, "replace-foreign", "Errored")
            .await
            .is_empty()
    );
    w.synced_keeping("if-not-exists").await;
    let state = w
        .vault_state(VAULT, &["secret/db-password", "secret/fresh-user"])
        .await;
    assert_eq!(found(&state, "secret/db-password"), &db_password_before);
    assert_eq!(found(&state, "secret/fresh-user")["value"], "app");

    // deletionPolicy: Delete: the finalizer; an entry dropped from the
    // spec is deleted from the vault; the PushSecret's deletion deletes
    // the rest, then lets it go.
    w.apply(&push_secret(
        "lifecycle",
        "  deletionPolicy: Delete
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: life-a}}
  - match: {secretKey: username, remoteRef: {remoteKey: life-b}}
",
    ))
    .await;
    w.synced_ok("lifecycle").await;
    assert_eq!(
        w.finalizers("lifecycle").await,
        Some(vec![FINALIZER.to_owned()])
    );
    w.json_patch(
        "lifecycle",
        json!([{"op": "remove", "path": "/spec/data/1"}]),
    )
    .await;
    eventually(Duration::from_secs(20), "life-b deleted", || async {
        let state = w
            .vault_state(VAULT, &["secret/life-a", "secret/life-b"])
            .await;
        (gone(&state, "secret/life-b") && found(&state, "secret/life-a")["value"] == "hunter3")
            .then_some(())
    })
    .await;
    assert_eq!(
        eventually(
            Duration::from_secs(10),
            "the status without life-b",
            || async {
                let now = w.synced("lifecycle").await;
                (now["SecretStore/kv"].len() == 1).then_some(now)
            }
        )
        .await["SecretStore/kv"],
        ["life-a"]
    );
    w.delete("lifecycle").await;
    eventually(
        Duration::from_secs(20),
        "lifecycle gone with life-a",
        || async {
            let state = w.vault_state(VAULT, &["secret/life-a"]).await;
            (gone(&state, "secret/life-a") && w.is_gone("lifecycle").await).then_some(())
        },
    )
    .await;

    // deletionPolicy: None (the default): no finalizer; the vault keeps
    // what was pushed.
    w.apply(&push_secret(
        "keeper",
        "  selector: {secret: {name: source}}
  data:
  - match: {secretKey: username, remoteRef: {remoteKey: kept}}
",
    ))
    .await;
    w.synced_ok("keeper").await;
    assert_eq!(w.finalizers("keeper").await, None);
    w.delete("keeper").await;
    eventually(Duration::from_secs(10), "keeper gone", || async {
        w.is_gone("keeper").await.then_some(())
    })
    .await;
    let state = w.vault_state(VAULT, &["secret/kept"]).await;
    assert_eq!(found(&state, "secret/kept")["value"], "app");

    // A delete of an object that lost ESO's tag (another writer took it
    // over) is refused: the vault keeps it, the PushSecret stays with its
    // finalizer and says why.
    w.apply(&push_secret(
        "taken-over",
        "  deletionPolicy: Delete
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: username, remoteRef: {remoteKey: taken}}
",
    ))
    .await;
    w.synced_ok("taken-over").await;
    w.writer(VAULT)
        .set_secret_with(
            "taken",
            "theirs",
            &azure_wi_auth::SetSecretOptions::default(),
        )
        .await
        .unwrap();
    w.delete("taken-over").await;
    w.errored(
        "taken-over",
        "Failed to Delete Secrets from Provider: error getting secret taken: not managed by external-secrets",
    )
    .await;
    let state = w.vault_state(VAULT, &["secret/taken"]).await;
    assert_eq!(found(&state, "secret/taken")["value"], "theirs");
    assert!(!w.is_gone("taken-over").await);

    // The source Secret deleted, with deletionPolicy: Delete: what was
    // pushed is cleaned up (ESO's `handleSourceSecretDeleted`).
    w.apply(&format!(
        "{}{}",
        secret_yaml(NS, "ephemeral", "", "{v: short-lived}"),
        push_secret(
            "source-gone",
            "  deletionPolicy: Delete
  refreshInterval: 1s
  selector: {secret: {name: ephemeral}}
  data:
  - match: {secretKey: v, remoteRef: {remoteKey: eph}}
"
        )
    ))
    .await;
    w.synced_ok("source-gone").await;
    w.delete_secret("ephemeral").await;
    w.settles(
        "source-gone",
        "False",
        "SourceDeleted",
        "source secret deleted; provider secrets cleaned up",
    )
    .await;
    assert!(w.synced("source-gone").await.is_empty());
    w.assert_absent(VAULT, "secret/eph").await;

    // Keys and certificates: a PEM private key imported as a key, a PFX
    // as a certificate, each with ESO's tag.
    w.apply(&format!(
        "{}\n---\n{}",
        w.material(VAULT).await,
        push_secret(
            "material",
            "  selector: {secret: {name: material}}
  data:
  - match: {secretKey: key.pem, remoteRef: {remoteKey: key/pushed-key}}
  - match: {secretKey: tls.pfx, remoteRef: {remoteKey: cert/pushed-cert}}
"
        )
    ))
    .await;
    w.synced_ok("material").await;
    let state = w
        .vault_state(
            VAULT,
            &["key/pushed-key", "cert/pushed-cert", "cert/web-tls"],
        )
        .await;
    let key = found(&state, "key/pushed-key");
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["tags"], eso_tag());
    let cert = found(&state, "cert/pushed-cert");
    assert_eq!(cert["tags"], eso_tag());
    assert_eq!(cert["cer"], found(&state, "cert/web-tls")["cer"]);

    // Bad input: a condition naming what is wrong, nothing written.
    for (name, spec, message) in [
        (
            "no-source",
            "  selector: {secret: {name: nowhere}}\n  data:\n  - match: {secretKey: v, remoteRef: {remoteKey: never-a}}\n",
            "could not get source secret",
        ),
        (
            "no-key",
            "  selector: {secret: {name: source}}\n  data:\n  - match: {secretKey: nokey, remoteRef: {remoteKey: never-b}}\n",
            "set secret failed: secret key nokey does not exist",
        ),
        (
            "bad-prefix",
            "  selector: {secret: {name: source}}\n  data:\n  - match: {secretKey: password, remoteRef: {remoteKey: foo/never-c}}\n",
            "set secret failed: could not write remote ref password to target secretstore kv: secret type foo not supported",
        ),
        (
            "generator",
            "  selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}\n  data:\n  - match: {secretKey: password, remoteRef: {remoteKey: never-d}}\n",
            "secret-sync does not serve spec.selector.generatorRef of a PushSecret",
        ),
    ] {
        w.apply(&push_secret(name, spec)).await;
        w.errored(name, message).await;
    }
    w.apply(&push_secret_yaml(
            NS,
            "no-store",
            "  secretStoreRefs: [{name: nostore}]\n  selector: {secret: {name: source}}\n  data:\n  - match: {secretKey: password, remoteRef: {remoteKey: never-e}}\n",
        ),
    )
    .await;
    w.errored(
        "no-store",
        r#"could not get SecretStore "nostore", secretstores.external-secrets.io "nostore" not found"#,
    )
    .await;
    let never = [
        "secret/never-a",
        "secret/never-b",
        "secret/never-c",
        "secret/never-d",
        "secret/never-e",
    ];
    let state = w.vault_state(VAULT, &never).await;
    for object in never {
        assert!(gone(&state, object), "{object}: {state:#}");
    }

    drop(w);
    cluster.stop().await;
}
