//! What the PushSecret tests of secret-sync share (`tests/push_secret.rs`,
//! `tests/push_secret_cases.rs`, `tests/push_secret_data_to.rs`, each
//! including it as `push_support` beside `support` and `key_vault`):
//! PushSecrets as YAML, their Ready condition and status, and the vault
//! read back through Microsoft's Python SDK (`python/vault_state.py`) or
//! written behind the controller's back.
// Each test crate uses a part of it.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use azure_wi_auth::SecretClient;
use azure_wi_core::names;
use azure_wi_emulator::{
    Emulator,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client,
    api::{DeleteParams, Patch, PatchParams},
};
use secret_sync::api::{PushSecret, PushSecretStatus};
use serde_json::{Value, json};

use crate::{
    key_vault::demo_credential_from,
    support::{Cluster, apply, ready_in, token_file},
};

/// The finalizer of a PushSecret with `deletionPolicy: Delete`.
pub(crate) const FINALIZER: &str = "pushsecret.externalsecrets.io/finalizer";

/// A PushSecret `namespace/name` with `spec` (YAML lines under `spec:`,
/// indented by two); YAML ending with a document separator.
pub(crate) fn push_secret_yaml(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}---\n"
    )
}

/// One object's state, which must have been read.
pub(crate) fn found<'a>(state: &'a Value, object: &str) -> &'a Value {
    assert!(state[object].get("error").is_none(), "{object}: {state:#}");
    &state[object]["ok"]
}

/// Whether the SDK found no such object (404).
pub(crate) fn gone(state: &Value, object: &str) -> bool {
    state[object]["status"] == 404
}

/// Asserts the SDK found no such object (404).
pub(crate) fn assert_gone(state: &Value, object: &str) {
    assert_eq!(state[object]["status"], 404, "{object}: {state:#}");
}

/// `status.syncedPushSecrets` as [`World::synced`] reads it: each store
/// (`SecretStore/kv`) with its remote keys.
pub(crate) fn in_stores(stores: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    stores
        .iter()
        .map(|(store, keys)| {
            let keys = keys.iter().map(|&k| k.to_owned()).collect();
            ((*store).to_owned(), keys)
        })
        .collect()
}

/// ESO's tag on what it pushes.
pub(crate) fn eso_tag() -> Value {
    json!({"managed-by": "external-secrets"})
}

/// The PushSecrets of one namespace on a [`Cluster`], and a token of the
/// demo identity's ServiceAccount there, for Microsoft's SDK and the
/// writer.
pub(crate) struct World<'a> {
    pub(crate) client: Client,
    pub(crate) emulator: &'a Emulator,
    namespace: String,
    token: PathBuf,
    _token_dir: tempfile::TempDir,
}

impl<'a> World<'a> {
    /// The PushSecrets of `namespace`, a token of its ServiceAccount `sa`
    /// (annotated with the demo identity's client id) taken now.
    pub(crate) async fn new(cluster: &'a Cluster, namespace: &str, sa: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let token = token_file(&cluster.client, namespace, sa, dir.path()).await;
        Self {
            client: cluster.client.clone(),
            emulator: &cluster.emulator,
            namespace: namespace.to_owned(),
            token,
            _token_dir: dir,
        }
    }

    /// Applies `yaml` ([`apply`]) in the namespace.
    pub(crate) async fn apply(&self, yaml: &str) {
        apply(&self.client, &self.namespace, yaml).await;
    }

    pub(crate) fn push_secrets(&self) -> Api<PushSecret> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    pub(crate) async fn status(&self, name: &str) -> PushSecretStatus {
        self.push_secrets()
            .get(name)
            .await
            .unwrap()
            .status
            .unwrap_or_default()
    }

    /// The Ready condition of PushSecret `name`: status, reason, message.
    pub(crate) async fn ready(&self, name: &str) -> Option<(String, String, String)> {
        let ps = self.push_secrets().get_opt(name).await.unwrap()?;
        ready_in(ps.status?.conditions)
    }

    /// Waits (up to 30 s) for PushSecret `name`'s Ready condition to be
    /// `status` with `reason` and `message`.
    pub(crate) async fn settles(&self, name: &str, status: &str, reason: &str, message: &str) {
        let want = (status.to_owned(), reason.to_owned(), message.to_owned());
        let mut last = None;
        let outcome = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let now = self.ready(name).await;
                if now.as_ref() == Some(&want) {
                    return;
                }
                last = now;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
        .await;
        assert!(
            outcome.is_ok(),
            "{name}: expected {want:?}, last seen {last:?}"
        );
    }

    /// Waits for `name` to be pushed: ESO's `Synced` and its text.
    pub(crate) async fn synced_ok(&self, name: &str) {
        self.settles(name, "True", "Synced", "PushSecret synced successfully")
            .await;
    }

    /// Waits for `name` to be pushed with `updatePolicy: IfNotExists`:
    /// ESO's `Synced` and its text saying what the vault had was kept.
    pub(crate) async fn synced_keeping(&self, name: &str) {
        self.settles(
            name,
            "True",
            "Synced",
            "PushSecret synced successfully. Existing secrets in providers unchanged.",
        )
        .await;
    }

    /// Waits for `name` to fail with `message`.
    pub(crate) async fn errored(&self, name: &str, message: &str) {
        self.settles(name, "False", "Errored", message).await;
    }

    /// `status.syncedPushSecrets` of `name`: store, then entries.
    pub(crate) async fn synced(&self, name: &str) -> BTreeMap<String, Vec<String>> {
        self.status(name)
            .await
            .synced_push_secrets
            .into_iter()
            .map(|(store, entries)| (store, entries.into_keys().collect()))
            .collect()
    }

    pub(crate) async fn patch(&self, name: &str, patch: Value) {
        self.push_secrets()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    /// Merge-patches Secret `name` of the namespace (a PushSecret's
    /// source) with `patch`.
    pub(crate) async fn patch_secret(&self, name: &str, patch: Value) {
        Api::<Secret>::namespaced(self.client.clone(), &self.namespace)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    /// Deletes Secret `name` of the namespace.
    pub(crate) async fn delete_secret(&self, name: &str) {
        Api::<Secret>::namespaced(self.client.clone(), &self.namespace)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    pub(crate) async fn json_patch(&self, name: &str, ops: Value) {
        self.push_secrets()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Json::<()>(serde_json::from_value(ops).unwrap()),
            )
            .await
            .unwrap();
    }

    pub(crate) async fn delete(&self, name: &str) {
        self.push_secrets()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Whether PushSecret `name` is gone from the API server.
    pub(crate) async fn is_gone(&self, name: &str) -> bool {
        self.push_secrets().get_opt(name).await.unwrap().is_none()
    }

    pub(crate) async fn finalizers(&self, name: &str) -> Option<Vec<String>> {
        self.push_secrets()
            .get(name)
            .await
            .unwrap()
            .metadata
            .finalizers
    }

    /// What Microsoft's SDK reads of `objects` (`secret/x`, `key/x`,
    /// `cert/x`) in `vault`, as the demo identity: each `{"ok": ...}` or
    /// `{"error", "status"}`. Run off the runtime's threads, which the
    /// controller needs meanwhile.
    pub(crate) async fn vault_state(&self, vault: &str, objects: &[&str]) -> Value {
        let url = self.emulator.vault_url(vault);
        let ca = self.emulator.ca_pem().to_owned();
        let authority = self.emulator.authority_host();
        let proxy = self.emulator.proxy_url();
        let token = self.token.clone();
        let objects: Vec<String> = objects.iter().map(|&o| o.to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            vault_state(&url, &ca, &authority, &proxy, &token, &objects)
        })
        .await
        .unwrap()
    }

    /// Asserts the SDK finds no object `object` (`secret/x`...) in
    /// `vault` (404).
    pub(crate) async fn assert_absent(&self, vault: &str, object: &str) {
        assert_gone(&self.vault_state(vault, &[object]).await, object);
    }

    /// A Key Vault client of `vault` as the demo identity, to change the
    /// vault behind the controller's back.
    pub(crate) fn writer(&self, vault: &str) -> SecretClient {
        let credential = demo_credential_from(self.emulator, self.token.clone());
        SecretClient::builder(&self.emulator.vault_url(vault), credential)
            .build()
            .unwrap()
    }

    /// Secret `material` of the namespace, as JSON (which is YAML): a new
    /// PKCS#8 RSA key (ESO's goodKey form) as `key.pem`, and the PFX of
    /// certificate `web-tls` of `vault` (with its key, as Key Vault needs)
    /// as `tls.pfx`.
    pub(crate) async fn material(&self, vault: &str) -> String {
        let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(
            &rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap(),
            Default::default(),
        )
        .unwrap();
        let pfx = self.writer(vault).get_secret("web-tls").await.unwrap();
        let pfx = STANDARD.decode(pfx.value.expose()).unwrap();
        serde_json::to_string(&json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "material", "namespace": self.namespace},
            "data": {"key.pem": STANDARD.encode(pem.as_bytes()), "tls.pfx": STANDARD.encode(&pfx)}
        }))
        .unwrap()
    }
}

/// Runs `python/vault_state.py` (see [`World::vault_state`]).
fn vault_state(
    url: &str,
    ca_pem: &str,
    authority: &str,
    proxy: &str,
    token: &Path,
    objects: &[String],
) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/vault_state.py");
    let mut command = Command::new("python3");
    command.arg(&script).arg(url).args(objects);
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
        .env(names::AUTHORITY_HOST_ENV, authority)
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("HTTPS_PROXY", proxy)
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
