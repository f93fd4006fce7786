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

mod support;

use std::{collections::BTreeMap, path::Path, process::Command, time::Duration};

use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator,
    config::{
        DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, FederatedCredential, Role, RoleAssignment,
    },
};
use k8s_openapi::api::{authentication::v1::TokenRequest, core::v1::ServiceAccount};
use kube::{
    Api, Client,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use secret_sync::api::PushSecret;
use serde_json::{Value, json};
use support::{
    apply, events_about, eventually, install_crds, namespace, reader_of, service_account,
    start_controller,
};

const NS: &str = "push";
const SA: &str = "push-sa";
const VAULT: &str = "orders-kv";

fn config(plane: &ControlPlane) -> Config {
    let mut config = Config::demo_with_keys_and_certificates();
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    config.identities[0].federated_credentials = vec![FederatedCredential {
        name: "push".to_owned(),
        issuer: plane.issuer().to_owned(),
        subject: names::service_account_subject(NS, SA),
        audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
    }];
    for role in [
        Role::SecretsOfficer,
        Role::CryptoOfficer,
        Role::CertificatesOfficer,
    ] {
        config.role_assignments.push(RoleAssignment {
            principal_id: DEMO_OBJECT_ID.into(),
            role,
            scope: VAULT.into(),
        });
    }
    config
}

const STORE: &str = r"apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: kv, namespace: push}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      tenantId: TENANT
      vaultUrl: https://orders-kv.vault.azure.net
      serviceAccountRef: {name: push-sa}
---
apiVersion: v1
kind: Secret
metadata: {name: source, namespace: push}
stringData: {password: hunter2, username: app}
";

/// A PushSecret `name` from `source` to store `kv` with `spec` (YAML
/// lines under `spec:`, indented by two).
fn push_secret(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: {name}, namespace: push}}\nspec:\n  secretStoreRefs: [{{name: kv}}]\n{spec}"
    )
}

/// The Ready condition of PushSecret `name`: status, reason, message.
async fn ready(client: &Client, name: &str) -> Option<(String, String, String)> {
    let ps = Api::<PushSecret>::namespaced(client.clone(), NS)
        .get_opt(name)
        .await
        .unwrap()?;
    let condition = ps
        .status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
    Some((
        condition.status,
        condition.reason.unwrap_or_default(),
        condition.message.unwrap_or_default(),
    ))
}

/// Waits for PushSecret `name`'s Ready condition to be `status` with
/// `reason` and `message`.
async fn settles(client: &Client, name: &str, status: &str, reason: &str, message: &str) {
    let want = (status.to_owned(), reason.to_owned(), message.to_owned());
    let mut last = None;
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let now = ready(client, name).await;
            if now.as_ref() == Some(&want) {
                return;
            }
            last = now;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "{name}: expected {want:?}, last seen {last:?}"
    );
}

/// `status.syncedPushSecrets` of `name`: store, then remote keys.
async fn synced(client: &Client, name: &str) -> BTreeMap<String, Vec<String>> {
    Api::<PushSecret>::namespaced(client.clone(), NS)
        .get(name)
        .await
        .unwrap()
        .status
        .unwrap_or_default()
        .synced_push_secrets
        .into_iter()
        .map(|(store, entries)| (store, entries.into_keys().collect()))
        .collect()
}

/// A token of the test's ServiceAccount for Entra, from the API server,
/// written where the SDK reads it.
async fn token_file(client: &Client, dir: &Path) -> std::path::PathBuf {
    let request: TokenRequest = serde_json::from_value(json!({
        "spec": {"audiences": [names::DEFAULT_AUDIENCE], "expirationSeconds": 3600}
    }))
    .unwrap();
    let issued = Api::<ServiceAccount>::namespaced(client.clone(), NS)
        .create_token_request(SA, &PostParams::default(), &request)
        .await
        .unwrap();
    let path = dir.join("token");
    std::fs::write(&path, issued.status.unwrap().token).unwrap();
    path
}

/// What Microsoft's SDK reads of `objects` (`secret/x`, `key/x`,
/// `cert/x`), each `{"ok": ...}` or `{"error", "status"}`.
fn vault_state(emulator: &Emulator, token: &Path, objects: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/vault_state.py");
    let mut command = Command::new("python3");
    command
        .arg(&script)
        .arg(emulator.vault_url(VAULT))
        .args(objects);
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
    ] {
        command.env_remove(var);
    }
    let output = command
        .env(names::CLIENT_ID_ENV, DEMO_CLIENT_ID)
        .env(names::TENANT_ID_ENV, DEMO_TENANT)
        .env(names::FEDERATED_TOKEN_FILE_ENV, token)
        .env(names::AUTHORITY_HOST_ENV, emulator.authority_host())
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("HTTPS_PROXY", emulator.proxy_url())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "Microsoft's Python SDK is missing\n{stderr}"
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("vault_state.py printed no JSON ({e}): {stdout}\n{stderr}"))
}

/// One object's state, which must have been read.
fn found<'a>(state: &'a Value, object: &str) -> &'a Value {
    assert!(state[object].get("error").is_none(), "{object}: {state:#}");
    &state[object]["ok"]
}

/// Whether the SDK found no such object (404).
fn gone(state: &Value, object: &str) -> bool {
    state[object]["status"] == 404
}

async fn delete_push_secret(client: &Client, name: &str) {
    Api::<PushSecret>::namespaced(client.clone(), NS)
        .delete(name, &DeleteParams::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_secrets_write_the_vault_as_esos_controller_does() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let emulator = Emulator::start(config(&plane)).await.unwrap();
    install_crds(&client).await;
    let (_, stop, running) = start_controller(&client, reader_of(&emulator));
    namespace(&client, NS).await;
    apply(
        &client,
        NS,
        &format!(
            "{}---\n{}",
            service_account(NS, SA, DEMO_CLIENT_ID),
            STORE.replace("TENANT", DEMO_TENANT)
        ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token = token_file(&client, dir.path()).await;
    let db_password_before = found(
        &vault_state(&emulator, &token, &["secret/db-password"]),
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
    apply(
        &client,
        NS,
        &push_secret(
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
        ),
    )
    .await;
    settles(
        &client,
        "basic",
        "True",
        "Synced",
        "PushSecret synced successfully",
    )
    .await;
    assert_eq!(
        synced(&client, "basic").await,
        BTreeMap::from([(
            "SecretStore/kv".to_owned(),
            vec!["pushed-all".to_owned(), "pushed-password".to_owned()]
        )])
    );
    assert!(
        !events_about(&client, NS, "basic", "Synced")
            .await
            .is_empty()
    );
    let state = vault_state(
        &emulator,
        &token,
        &["secret/pushed-password", "secret/pushed-all"],
    );
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
    let state = vault_state(&emulator, &token, &["secret/pushed-password"]);
    assert_eq!(found(&state, "secret/pushed-password")["versions"], 1);
    // A changed source is pushed at the next refresh, as a new version.
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), NS)
        .patch(
            "source",
            &PatchParams::default(),
            &Patch::Merge(&json!({"stringData": {"password": "hunter3"}})),
        )
        .await
        .unwrap();
    let state = eventually(
        Duration::from_secs(20),
        "the new value in the vault",
        || async {
            let state = vault_state(&emulator, &token, &["secret/pushed-password"]);
            (found(&state, "secret/pushed-password")["value"] == "hunter3").then_some(state)
        },
    )
    .await;
    assert_eq!(found(&state, "secret/pushed-password")["versions"], 2);

    // An object ESO did not make: Replace is refused and says why;
    // IfNotExists leaves it alone and says so.
    apply(
        &client,
        NS,
        &format!(
            "{}---\n{}",
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
        ),
    )
    .await;
    settles(
        &client,
        "replace-foreign",
        "False",
        "Errored",
        "set secret failed: could not write remote ref password to target secretstore kv: cannot get secret db-password: not managed by external-secrets",
    )
    .await;
    assert!(
        !events_about(&client, NS, "replace-foreign", "Errored")
            .await
            .is_empty()
    );
    settles(
        &client,
        "if-not-exists",
        "True",
        "Synced",
        "PushSecret synced successfully. Existing secrets in providers unchanged.",
    )
    .await;
    let state = vault_state(
        &emulator,
        &token,
        &["secret/db-password", "secret/fresh-user"],
    );
    assert_eq!(found(&state, "secret/db-password"), &db_password_before);
    assert_eq!(found(&state, "secret/fresh-user")["value"], "app");

    // deletionPolicy: Delete: the finalizer; an entry dropped from the
    // spec is deleted from the vault; the PushSecret's deletion deletes
    // the rest, then lets it go.
    apply(
        &client,
        NS,
        &push_secret(
            "lifecycle",
            "  deletionPolicy: Delete
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: life-a}}
  - match: {secretKey: username, remoteRef: {remoteKey: life-b}}
",
        ),
    )
    .await;
    settles(
        &client,
        "lifecycle",
        "True",
        "Synced",
        "PushSecret synced successfully",
    )
    .await;
    let api = Api::<PushSecret>::namespaced(client.clone(), NS);
    assert_eq!(
        api.get("lifecycle").await.unwrap().metadata.finalizers,
        Some(vec!["pushsecret.externalsecrets.io/finalizer".to_owned()])
    );
    api.patch(
        "lifecycle",
        &PatchParams::default(),
        &Patch::Json::<()>(
            serde_json::from_value(json!([{"op": "remove", "path": "/spec/data/1"}])).unwrap(),
        ),
    )
    .await
    .unwrap();
    eventually(Duration::from_secs(20), "life-b deleted", || async {
        let state = vault_state(&emulator, &token, &["secret/life-a", "secret/life-b"]);
        (gone(&state, "secret/life-b") && found(&state, "secret/life-a")["value"] == "hunter3")
            .then_some(())
    })
    .await;
    assert_eq!(
        eventually(
            Duration::from_secs(10),
            "the status without life-b",
            || async {
                let now = synced(&client, "lifecycle").await;
                (now["SecretStore/kv"].len() == 1).then_some(now)
            }
        )
        .await["SecretStore/kv"],
        ["life-a"]
    );
    delete_push_secret(&client, "lifecycle").await;
    eventually(
        Duration::from_secs(20),
        "lifecycle gone with life-a",
        || async {
            let state = vault_state(&emulator, &token, &["secret/life-a"]);
            (gone(&state, "secret/life-a") && api.get_opt("lifecycle").await.unwrap().is_none())
                .then_some(())
        },
    )
    .await;

    // deletionPolicy: None (the default): no finalizer; the vault keeps
    // what was pushed.
    apply(
        &client,
        NS,
        &push_secret(
            "keeper",
            "  selector: {secret: {name: source}}
  data:
  - match: {secretKey: username, remoteRef: {remoteKey: kept}}
",
        ),
    )
    .await;
    settles(
        &client,
        "keeper",
        "True",
        "Synced",
        "PushSecret synced successfully",
    )
    .await;
    assert_eq!(api.get("keeper").await.unwrap().metadata.finalizers, None);
    delete_push_secret(&client, "keeper").await;
    eventually(Duration::from_secs(10), "keeper gone", || async {
        api.get_opt("keeper").await.unwrap().is_none().then_some(())
    })
    .await;
    let state = vault_state(&emulator, &token, &["secret/kept"]);
    assert_eq!(found(&state, "secret/kept")["value"], "app");

    // A delete of an object that lost ESO's tag (another writer took it
    // over) is refused: the vault keeps it, the PushSecret stays with its
    // finalizer and says why.
    apply(
        &client,
        NS,
        &push_secret(
            "taken-over",
            "  deletionPolicy: Delete
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: username, remoteRef: {remoteKey: taken}}
",
        ),
    )
    .await;
    settles(
        &client,
        "taken-over",
        "True",
        "Synced",
        "PushSecret synced successfully",
    )
    .await;
    let credential = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, token.clone())
        .unwrap()
        .build()
        .unwrap();
    let writer = azure_wi_auth::SecretClient::builder(&emulator.vault_url(VAULT), credential)
        .build()
        .unwrap();
    writer
        .set_secret_with(
            "taken",
            "theirs",
            &azure_wi_auth::SetSecretOptions::default(),
        )
        .await
        .unwrap();
    delete_push_secret(&client, "taken-over").await;
    settles(
        &client,
        "taken-over",
        "False",
        "Errored",
        "Failed to Delete Secrets from Provider: error getting secret taken: not managed by external-secrets",
    )
    .await;
    let state = vault_state(&emulator, &token, &["secret/taken"]);
    assert_eq!(found(&state, "secret/taken")["value"], "theirs");
    assert!(api.get_opt("taken-over").await.unwrap().is_some());

    // The source Secret deleted, with deletionPolicy: Delete: what was
    // pushed is cleaned up (ESO's `handleSourceSecretDeleted`).
    apply(
        &client,
        NS,
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: ephemeral, namespace: push}}\nstringData: {{v: short-lived}}\n---\n{}",
            push_secret(
                "source-gone",
                "  deletionPolicy: Delete
  refreshInterval: 1s
  selector: {secret: {name: ephemeral}}
  data:
  - match: {secretKey: v, remoteRef: {remoteKey: eph}}
"
            )
        ),
    )
    .await;
    settles(
        &client,
        "source-gone",
        "True",
        "Synced",
        "PushSecret synced successfully",
    )
    .await;
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), NS)
        .delete("ephemeral", &DeleteParams::default())
        .await
        .unwrap();
    settles(
        &client,
        "source-gone",
        "False",
        "SourceDeleted",
        "source secret deleted; provider secrets cleaned up",
    )
    .await;
    assert!(synced(&client, "source-gone").await.is_empty());
    assert!(gone(
        &vault_state(&emulator, &token, &["secret/eph"]),
        "secret/eph"
    ));

    // Keys and certificates: a PEM private key imported as a key, a PFX
    // as a certificate, each with ESO's tag.
    let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(
        &rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap(),
        Default::default(),
    )
    .unwrap();
    let pfx = writer.get_secret("web-tls").await.unwrap();
    let pfx = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        pfx.value.expose(),
    )
    .unwrap();
    let material = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "material", "namespace": NS},
        "data": {
            "key.pem": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pem.as_bytes()),
            "tls.pfx": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &pfx),
        }
    });
    apply(
        &client,
        NS,
        &format!(
            "{}\n---\n{}",
            serde_json::to_string(&material).unwrap(),
            push_secret(
                "material",
                "  selector: {secret: {name: material}}
  data:
  - match: {secretKey: key.pem, remoteRef: {remoteKey: key/pushed-key}}
  - match: {secretKey: tls.pfx, remoteRef: {remoteKey: cert/pushed-cert}}
"
            )
        ),
    )
    .await;
    settles(
        &client,
        "material",
        "True",
        "Synced",
        "PushSecret synced successfully",
    )
    .await;
    let state = vault_state(
        &emulator,
        &token,
        &["key/pushed-key", "cert/pushed-cert", "cert/web-tls"],
    );
    let key = found(&state, "key/pushed-key");
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["tags"], json!({"managed-by": "external-secrets"}));
    let cert = found(&state, "cert/pushed-cert");
    assert_eq!(cert["tags"], json!({"managed-by": "external-secrets"}));
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
        apply(&client, NS, &push_secret(name, spec)).await;
        settles(&client, name, "False", "Errored", message).await;
    }
    apply(
        &client,
        NS,
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: no-store, namespace: push}\nspec:\n  secretStoreRefs: [{name: nostore}]\n  selector: {secret: {name: source}}\n  data:\n  - match: {secretKey: password, remoteRef: {remoteKey: never-e}}\n",
    )
    .await;
    settles(
        &client,
        "no-store",
        "False",
        "Errored",
        r#"could not get SecretStore "nostore", secretstores.external-secrets.io "nostore" not found"#,
    )
    .await;
    let state = vault_state(
        &emulator,
        &token,
        &[
            "secret/never-a",
            "secret/never-b",
            "secret/never-c",
            "secret/never-d",
            "secret/never-e",
        ],
    );
    for object in [
        "secret/never-a",
        "secret/never-b",
        "secret/never-c",
        "secret/never-d",
        "secret/never-e",
    ] {
        assert!(gone(&state, object), "{object}: {state:#}");
    }

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
    drop(emulator);
}
