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

mod support;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use azure_wi_auth::{SecretClient, SetSecretOptions};
use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator,
    config::{
        DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, FederatedCredential, Identity, Role,
        RoleAssignment, Vault,
    },
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use k8s_openapi::api::{
    authentication::v1::TokenRequest,
    core::v1::{Secret, ServiceAccount},
};
use kube::{
    Api, Client,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use secret_sync::api::{PushSecret, PushSecretStatus};
use serde_json::{Value, json};
use support::{
    apply, eventually, install_crds, namespace, reader_of, service_account, start_controller,
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
    let mut config = Config::demo_with_keys_and_certificates();
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    for vault in [OLD_VAULT, NEW_VAULT] {
        config.vaults.push(Vault {
            name: vault.to_owned(),
            tenant: None,
            secrets: Vec::new(),
            keys: Vec::new(),
            certificates: Vec::new(),
        });
    }
    let credential = |sa: &str| FederatedCredential {
        name: sa.to_owned(),
        issuer: plane.issuer().to_owned(),
        subject: names::service_account_subject(NS, sa),
        audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
    };
    config.identities[0].federated_credentials = vec![credential(SA)];
    for &(sa, client_id, object_id, name) in &ACCOUNTS[1..] {
        config.identities.push(Identity {
            name: name.to_owned(),
            tenant: DEMO_TENANT.to_owned(),
            client_id: client_id.to_owned(),
            object_id: object_id.to_owned(),
            federated_credentials: vec![credential(sa)],
        });
    }
    let officers = [
        Role::SecretsOfficer,
        Role::CryptoOfficer,
        Role::CertificatesOfficer,
    ];
    for vault in [VAULT, OLD_VAULT, NEW_VAULT] {
        for role in officers {
            config.role_assignments.push(RoleAssignment {
                principal_id: DEMO_OBJECT_ID.into(),
                role,
                scope: vault.into(),
            });
        }
    }
    for role in officers {
        config.role_assignments.push(RoleAssignment {
            principal_id: REVOKED_OBJECT_ID.into(),
            role,
            scope: VAULT.into(),
        });
    }
    for role in [Role::SecretsUser, Role::CryptoUser, Role::CertificateUser] {
        config.role_assignments.push(RoleAssignment {
            principal_id: USER_OBJECT_ID.into(),
            role,
            scope: VAULT.into(),
        });
    }
    config
}

/// A SecretStore `name` on `vault` as the identity of ServiceAccount `sa`.
fn store(name: &str, vault: &str, sa: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: {name}, namespace: {NS}}}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      tenantId: {DEMO_TENANT}
      vaultUrl: https://{vault}.vault.azure.net
      serviceAccountRef: {{name: {sa}}}
---
"
    )
}

/// A PushSecret `name` with `spec` (YAML lines under `spec:`, indented by
/// two).
fn push_secret(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n{spec}---\n"
    )
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

/// What the cases share: the API server, the emulator, a token of the
/// demo identity for the Python SDK and the writer.
struct World {
    client: Client,
    emulator: Emulator,
    token: PathBuf,
}

impl World {
    fn push_secrets(&self) -> Api<PushSecret> {
        Api::namespaced(self.client.clone(), NS)
    }

    async fn status(&self, name: &str) -> PushSecretStatus {
        self.push_secrets()
            .get(name)
            .await
            .unwrap()
            .status
            .unwrap_or_default()
    }

    /// The Ready condition of PushSecret `name`: status, reason, message.
    async fn ready(&self, name: &str) -> Option<(String, String, String)> {
        let ps = self.push_secrets().get_opt(name).await.unwrap()?;
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
    async fn settles(&self, name: &str, status: &str, reason: &str, message: &str) {
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

    async fn synced_ok(&self, name: &str) {
        self.settles(name, "True", "Synced", "PushSecret synced successfully")
            .await;
    }

    async fn errored(&self, name: &str, message: &str) {
        self.settles(name, "False", "Errored", message).await;
    }

    /// `status.syncedPushSecrets` of `name`: store, then entries.
    async fn synced(&self, name: &str) -> BTreeMap<String, Vec<String>> {
        self.status(name)
            .await
            .synced_push_secrets
            .into_iter()
            .map(|(store, entries)| (store, entries.into_keys().collect()))
            .collect()
    }

    async fn patch(&self, name: &str, patch: Value) {
        self.push_secrets()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    async fn json_patch(&self, name: &str, ops: Value) {
        self.push_secrets()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Json::<()>(serde_json::from_value(ops).unwrap()),
            )
            .await
            .unwrap();
    }

    async fn delete(&self, name: &str) {
        self.push_secrets()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    async fn finalizers(&self, name: &str) -> Option<Vec<String>> {
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
    async fn vault_state(&self, vault: &str, objects: &[&str]) -> Value {
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

    /// A Key Vault client of `vault` as the demo identity, to change the
    /// vault behind the controller's back.
    fn writer(&self, vault: &str) -> SecretClient {
        let credential = self
            .emulator
            .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, self.token.clone())
            .unwrap()
            .build()
            .unwrap();
        SecretClient::builder(&self.emulator.vault_url(vault), credential)
            .build()
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

/// One object's state, which must have been read.
fn found<'a>(state: &'a Value, object: &str) -> &'a Value {
    assert!(state[object].get("error").is_none(), "{object}: {state:#}");
    &state[object]["ok"]
}

/// Asserts the SDK found no such object (404).
fn assert_gone(state: &Value, object: &str) {
    assert_eq!(state[object]["status"], 404, "{object}: {state:#}");
}

/// ESO's tag on what it pushes.
fn eso_tag() -> Value {
    json!({"managed-by": "external-secrets"})
}

/// A token of the demo identity's ServiceAccount for Entra, written where
/// the SDK reads it.
async fn token_file(client: &Client, dir: &Path) -> PathBuf {
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
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let emulator = Emulator::start(config(&plane)).await.unwrap();
    install_crds(&client).await;
    let (_, stop, running) = start_controller(&client, reader_of(&emulator));
    namespace(&client, NS).await;
    namespace(&client, "other").await;

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
        setup.push_str(&store(name, vault, sa));
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
    setup.push_str(&format!(
        "apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: other-ns-store, namespace: other, labels: {{foo: bar}}}}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      tenantId: {DEMO_TENANT}
      vaultUrl: https://{VAULT}.vault.azure.net
      serviceAccountRef: {{name: {SA}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: source, namespace: {NS}}}
stringData: {{key: value, other-key: other-value}}
---
apiVersion: v1
kind: Secret
metadata: {{name: c3-source, namespace: {NS}}}
stringData: {{key: value}}
"
    ));
    apply(&client, NS, &setup).await;

    let dir = tempfile::tempdir().unwrap();
    let token = token_file(&client, dir.path()).await;
    let world = World {
        client: client.clone(),
        emulator,
        token,
    };

    // Key material for key/ and cert/ targets: a PKCS#8 RSA key (ESO's
    // goodKey form) and the demo's PFX (with its key, as Key Vault needs).
    let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(
        &rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap(),
        Default::default(),
    )
    .unwrap();
    let writer = world.writer(VAULT);
    let pfx = STANDARD
        .decode(writer.get_secret("web-tls").await.unwrap().value.expose())
        .unwrap();
    let material = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "material", "namespace": NS},
        "data": {"key.pem": STANDARD.encode(pem.as_bytes()), "tls.pfx": STANDARD.encode(&pfx)}
    });
    apply(&client, NS, &serde_json::to_string(&material).unwrap()).await;
    // C26: its only matching store is in another namespace.
    apply(
        &client,
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
    writer
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

    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
}

/// C3 `updateIfNotExistsPartialSecrets` ("should only update parts of
/// secret that don't already exist if UpdatePolicy=IfNotExists"): a key
/// missing first fails the push after the first entry is pushed; once the
/// Secret has it (and a new value for the first), the retry pushes it and
/// leaves the first as it was.
async fn c3_if_not_exists_pushes_keys_added_later(w: &World) {
    apply(
        &w.client,
        NS,
        &push_to(
            "c3",
            "kv",
            "c3-source",
            "  updatePolicy: IfNotExists\n  refreshInterval: 1s\n",
            "  - match: {secretKey: key, remoteRef: {remoteKey: c3-key}}
  - match: {secretKey: other-key, remoteRef: {remoteKey: c3-other-key}}
",
        ),
    )
    .await;
    w.errored(
        "c3",
        "set secret failed: secret key other-key does not exist",
    )
    .await;
    assert_eq!(
        w.synced("c3").await,
        BTreeMap::from([("SecretStore/kv".to_owned(), vec!["c3-key".to_owned()])])
    );
    Api::<Secret>::namespaced(w.client.clone(), NS)
        .patch(
            "c3-source",
            &PatchParams::default(),
            &Patch::Merge(&json!({"stringData": {"key": "new-value", "other-key": "other-value"}})),
        )
        .await
        .unwrap();
    w.settles(
        "c3",
        "True",
        "Synced",
        "PushSecret synced successfully. Existing secrets in providers unchanged.",
    )
    .await;
    assert_eq!(
        w.synced("c3").await,
        BTreeMap::from([(
            "SecretStore/kv".to_owned(),
            vec!["c3-key".to_owned(), "c3-other-key".to_owned()]
        )])
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
async fn c4_if_not_exists_lists_what_it_skipped(w: &World) {
    apply(
        &w.client,
        NS,
        &push_to(
            "c4",
            "kv",
            "source",
            "  updatePolicy: IfNotExists\n",
            "  - match: {secretKey: key, remoteRef: {remoteKey: c4-key}}
  - match: {secretKey: other-key, remoteRef: {remoteKey: c4-other-key}}
",
        ),
    )
    .await;
    w.settles(
        "c4",
        "True",
        "Synced",
        "PushSecret synced successfully. Existing secrets in providers unchanged.",
    )
    .await;
    assert_eq!(
        w.synced("c4").await,
        BTreeMap::from([(
            "SecretStore/kv".to_owned(),
            vec!["c4-key".to_owned(), "c4-other-key".to_owned()]
        )])
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
async fn c5_existence_check_refused(w: &World) {
    apply(
        &w.client,
        NS,
        &push_to(
            "c5",
            "none",
            "source",
            "  updatePolicy: IfNotExists\n",
            "  - match: {secretKey: key, remoteRef: {remoteKey: c5-key}}\n",
        ),
    )
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
        BTreeMap::from([("SecretStore/none".to_owned(), vec![])])
    );
    let state = w.vault_state(VAULT, &["secret/c5-key"]).await;
    assert_gone(&state, "secret/c5-key");
}

/// C10 `syncAndDeleteWithProperties` ("should delete secrets with
/// properties and update status correctly"): two entries on one remote key
/// differing only in property are two status entries; dropping one
/// deletes its remote key. azurekv ignores `property` when it pushes and
/// deletes (keyvault.go's `PushSecret` and `DeleteSecret` read only the
/// remote key), so both entries write secret `c10` in spec order (ESO's
/// `mergeDataEntries` keeps it; the last write wins) and deleting the `field2` entry deletes `c10`, which the `field1` entry
/// still lists: ESO does the same on Key Vault.
async fn c10_entries_differing_in_property(w: &World) {
    apply(
        &w.client,
        NS,
        &push_to(
            "c10",
            "kv",
            "source",
            "  deletionPolicy: Delete\n",
            "  - match: {secretKey: key, remoteRef: {remoteKey: c10, property: field1}}
  - match: {secretKey: other-key, remoteRef: {remoteKey: c10, property: field2}}
",
        ),
    )
    .await;
    w.synced_ok("c10").await;
    assert_eq!(
        w.synced("c10").await,
        BTreeMap::from([(
            "SecretStore/kv".to_owned(),
            vec!["c10/field1".to_owned(), "c10/field2".to_owned()]
        )])
    );
    let state = w.vault_state(VAULT, &["secret/c10"]).await;
    let both = found(&state, "secret/c10");
    assert_eq!(both["value"], "other-value");
    assert_eq!(both["versions"], 2);
    w.json_patch("c10", json!([{"op": "remove", "path": "/spec/data/1"}]))
        .await;
    eventually(Duration::from_secs(20), "c10 without field2", || async {
        let synced = w.synced("c10").await;
        (synced == BTreeMap::from([("SecretStore/kv".to_owned(), vec!["c10/field1".to_owned()])]))
            .then_some(())
    })
    .await;
    w.synced_ok("c10").await;
    let state = w.vault_state(VAULT, &["secret/c10"]).await;
    assert_gone(&state, "secret/c10");
}

/// C11 `syncChangePolicyAndDeleteSuccessfully` ("should delete after
/// DeletionPolicy changed from Delete to None"): the finalizer goes with
/// the policy, the PushSecret goes at once, the vault keeps the object.
async fn c11_delete_then_none(w: &World) {
    apply(
        &w.client,
        NS,
        &push_to(
            "c11",
            "kv",
            "source",
            "  deletionPolicy: Delete\n",
            "  - match: {secretKey: key, remoteRef: {remoteKey: c11-key}}\n",
        ),
    )
    .await;
    w.synced_ok("c11").await;
    assert_eq!(
        w.finalizers("c11").await,
        Some(vec!["pushsecret.externalsecrets.io/finalizer".to_owned()])
    );
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
        w.push_secrets()
            .get_opt("c11")
            .await
            .unwrap()
            .is_none()
            .then_some(())
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
async fn c14_c15_store_renamed(w: &World) {
    let entry =
        |key: &str| format!("  - match: {{secretKey: key, remoteRef: {{remoteKey: {key}}}}}\n");
    apply(
        &w.client,
        NS,
        &format!(
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
        ),
    )
    .await;
    tokio::join!(w.synced_ok("c14"), w.synced_ok("c15"));
    for (name, key) in [("c14", "c14-key"), ("c15", "c15-key")] {
        assert_eq!(
            w.synced(name).await,
            BTreeMap::from([("SecretStore/old-store".to_owned(), vec![key.to_owned()])])
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
    let c15_moved = BTreeMap::from([(
        "SecretStore/new-store".to_owned(),
        vec!["c15-key".to_owned()],
    )]);
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
        BTreeMap::from([
            (
                "SecretStore/new-store".to_owned(),
                vec!["c14-key".to_owned()]
            ),
            (
                "SecretStore/old-store".to_owned(),
                vec!["c14-key".to_owned()]
            ),
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
async fn c17_c24_cluster_stores(w: &World) {
    let spec = |store: &str, key: &str| {
        format!(
            "  secretStoreRefs: [{{name: {store}, kind: ClusterSecretStore}}]
  selector: {{secret: {{name: source}}}}
  data:
  - match: {{secretKey: key, remoteRef: {{remoteKey: {key}}}}}
"
        )
    };
    apply(
        &w.client,
        NS,
        &format!(
            "{}{}",
            push_secret("c17", &spec("cluster-kv", "c17-key")),
            push_secret("c24", &spec("unexisting", "c24-key"))
        ),
    )
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
        BTreeMap::from([(
            "ClusterSecretStore/cluster-kv".to_owned(),
            vec!["c17-key".to_owned()]
        )])
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
async fn c25_no_client_id(w: &World) {
    apply(
        &w.client,
        NS,
        &push_to(
            "c25",
            "no-client-id",
            "source",
            "",
            "  - match: {secretKey: key, remoteRef: {remoteKey: c25-key}}\n",
        ),
    )
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
        BTreeMap::from([("SecretStore/no-client-id".to_owned(), vec![])])
    );
    let state = w.vault_state(VAULT, &["secret/c25-key"]).await;
    assert_gone(&state, "secret/c25-key");
}

/// C26 `secretStoreDifferentNamespace` ("should not sync to SecretStore in
/// different namespace"): the only store matching the selector is in
/// another namespace, so no store is used and no condition is written.
async fn c26_store_in_other_namespace(w: &World) {
    let status = w.status("c26").await;
    assert!(status.conditions.is_empty(), "{status:?}");
    assert!(status.synced_push_secrets.is_empty(), "{status:?}");
    let state = w.vault_state(VAULT, &["secret/c26-key"]).await;
    assert_gone(&state, "secret/c26-key");
}

/// M1 `multipleManagedStoresSyncsSuccessfully` ("should sync successfully
/// if there are multiple managed stores"): both stores pushed, each
/// listed.
async fn m1_two_stores(w: &World) {
    apply(
        &w.client,
        NS,
        &push_secret(
            "m1",
            "  secretStoreRefs: [{name: old-store}, {name: new-store}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: key, remoteRef: {remoteKey: m1-key}}
",
        ),
    )
    .await;
    w.synced_ok("m1").await;
    assert_eq!(
        w.synced("m1").await,
        BTreeMap::from([
            (
                "SecretStore/new-store".to_owned(),
                vec!["m1-key".to_owned()]
            ),
            (
                "SecretStore/old-store".to_owned(),
                vec!["m1-key".to_owned()]
            ),
        ])
    );
    for vault in [OLD_VAULT, NEW_VAULT] {
        let state = w.vault_state(vault, &["secret/m1-key"]).await;
        assert_eq!(found(&state, "secret/m1-key")["value"], "value", "{vault}");
    }
}

/// One provider case: PushSecret `name` pushing Secret key `key` to
/// `remote`; `what` is the object as ESO's text names it (`secret x`).
struct Refusal {
    name: &'static str,
    key: &'static str,
    remote: &'static str,
    what: &'static str,
    role: &'static str,
}

impl Refusal {
    /// The PushSecret, from `source` for `key` and `material` otherwise.
    fn push_secret(&self, store: &str, extra: &str) -> String {
        let source = if self.key == "key" {
            "source"
        } else {
            "material"
        };
        push_to(
            self.name,
            store,
            source,
            extra,
            &format!(
                "  - match: {{secretKey: {}, remoteRef: {{remoteKey: {}}}}}\n",
                self.key, self.remote
            ),
        )
    }

    /// The object as `vault_state.py` names it.
    fn object(&self) -> String {
        if self.remote.contains('/') {
            self.remote.to_owned()
        } else {
            format!("secret/{}", self.remote)
        }
    }
}

/// azurekv PushSecret cases 29 `failedGetSecret`, 18 `errorGetKey` and 12
/// `certNoPermissions`: the read before a write is refused (an identity
/// with no role); ESO words it `cannot get <noun> <name>: unexpected api
/// error: <the vault's error>`, as ours does (the tail is the mock's
/// `#GET: Forbidden: StatusCode=403` and `#GET: Insufficient Permissions:
/// StatusCode=403` there).
async fn reads_refused(w: &World) {
    let cases = [
        Refusal {
            name: "p29",
            key: "key",
            remote: "p29-secret",
            what: "secret p29-secret",
            role: READ_SECRET_ROLE,
        },
        Refusal {
            name: "p18",
            key: "key.pem",
            remote: "key/p18-key",
            what: "key p18-key",
            role: READ_KEY_ROLE,
        },
        Refusal {
            name: "p12",
            key: "tls.pfx",
            remote: "cert/p12-cert",
            what: "certificate p12-cert",
            role: READ_CERT_ROLE,
        },
    ];
    let yaml: String = cases.iter().map(|c| c.push_secret("none", "")).collect();
    apply(&w.client, NS, &yaml).await;
    futures::future::join_all(cases.iter().map(|c| async move {
        let message = format!(
            "set secret failed: could not write remote ref {} to target secretstore none: cannot get {}: unexpected api error: {}",
            c.key,
            c.what,
            refused(&format!("reading {}", c.what), c.role)
        );
        w.errored(c.name, &message).await;
    }))
    .await;
    let objects: Vec<String> = cases.iter().map(Refusal::object).collect();
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    let state = w.vault_state(VAULT, &objects).await;
    for object in objects {
        assert_gone(&state, object);
    }
}

/// azurekv PushSecret cases 31 `failedSetSecret`, 20 `importKeyFailed` and
/// 7 `certImportCertificateError`: the read finds nothing and the write
/// is refused (an identity that may read secrets, keys and certificates
/// but write none); ESO words it `could not set secret <name>: ...`,
/// `could not import key <name>: ...`, `could not import certificate
/// <name>: ...`, as ours does (the tail is the mock's `#POST: Forbidden:
/// StatusCode=403`, and `error` for the certificate, there).
async fn writes_refused(w: &World) {
    let cases = [
        (
            Refusal {
                name: "p31",
                key: "key",
                remote: "p31-secret",
                what: "secret p31-secret",
                role: "Key Vault Secrets Officer",
            },
            "could not set secret p31-secret",
            "writing secret p31-secret",
        ),
        (
            Refusal {
                name: "p20",
                key: "key.pem",
                remote: "key/p20-key",
                what: "key p20-key",
                role: "Key Vault Crypto Officer",
            },
            "could not import key p20-key",
            "importing key p20-key",
        ),
        (
            Refusal {
                name: "p7",
                key: "tls.pfx",
                remote: "cert/p7-cert",
                what: "certificate p7-cert",
                role: "Key Vault Certificates Officer",
            },
            "could not import certificate p7-cert",
            "importing certificate p7-cert",
        ),
    ];
    let yaml: String = cases
        .iter()
        .map(|(c, ..)| c.push_secret("user", ""))
        .collect();
    apply(&w.client, NS, &yaml).await;
    futures::future::join_all(cases.iter().map(|(c, context, doing)| async move {
        let message = format!(
            "set secret failed: could not write remote ref {} to target secretstore user: {context}: {}",
            c.key,
            refused(doing, c.role)
        );
        w.errored(c.name, &message).await;
    }))
    .await;
    let objects: Vec<String> = cases.iter().map(|(c, ..)| c.object()).collect();
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    let state = w.vault_state(VAULT, &objects).await;
    for object in objects {
        assert_gone(&state, object);
    }
}

/// azurekv DeleteSecret cases 7 `secretNoGetPermissions`, 13
/// `certNoGetPermissions` and 19 `keyNoGetPermissions`: objects pushed
/// with deletionPolicy Delete, then the identity loses its roles (taken
/// from the running emulator); the PushSecrets' deletion reads first and
/// is refused (ESO: `error getting <noun> <name>: unexpected api error:
/// ...`, the tail the mock's `#GET: No Permissions: StatusCode=403`), so
/// each stays with its finalizer and the vault keeps the
/// objects.
async fn deletes_refused(w: &World) {
    let cases = [
        Refusal {
            name: "d7",
            key: "key",
            remote: "d7-secret",
            what: "secret d7-secret",
            role: READ_SECRET_ROLE,
        },
        Refusal {
            name: "d13",
            key: "tls.pfx",
            remote: "cert/d13-cert",
            what: "certificate d13-cert",
            role: READ_CERT_ROLE,
        },
        Refusal {
            name: "d19",
            key: "key.pem",
            remote: "key/d19-key",
            what: "key d19-key",
            role: READ_KEY_ROLE,
        },
    ];
    let yaml: String = cases
        .iter()
        .map(|c| c.push_secret("revoked", "  deletionPolicy: Delete\n"))
        .collect();
    apply(&w.client, NS, &yaml).await;
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
        let message = format!(
            "Failed to Delete Secrets from Provider: error getting {}: unexpected api error: {}",
            c.what,
            refused(&format!("reading {}", c.what), c.role)
        );
        w.errored(c.name, &message).await;
        assert_eq!(
            w.finalizers(c.name).await,
            Some(vec!["pushsecret.externalsecrets.io/finalizer".to_owned()])
        );
    }))
    .await;
    let objects: Vec<String> = cases.iter().map(Refusal::object).collect();
    let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
    let state = w.vault_state(VAULT, &objects).await;
    for object in objects {
        assert_eq!(found(&state, object)["tags"], eso_tag(), "{object}");
    }
}

/// azurekv SecretExists case 2 `secretFound`: an object ESO pushed (with
/// its tag) exists, so IfNotExists leaves it as it is.
async fn secret_exists_for_eso_object(w: &World) {
    apply(
        &w.client,
        NS,
        &push_to(
            "exists-first",
            "kv",
            "source",
            "",
            "  - match: {secretKey: key, remoteRef: {remoteKey: tagged-obj}}\n",
        ),
    )
    .await;
    w.synced_ok("exists-first").await;
    apply(
        &w.client,
        NS,
        &push_to(
            "exists-then",
            "kv",
            "source",
            "  updatePolicy: IfNotExists\n",
            "  - match: {secretKey: other-key, remoteRef: {remoteKey: tagged-obj}}\n",
        ),
    )
    .await;
    w.settles(
        "exists-then",
        "True",
        "Synced",
        "PushSecret synced successfully. Existing secrets in providers unchanged.",
    )
    .await;
    assert_eq!(
        w.synced("exists-then").await,
        BTreeMap::from([("SecretStore/kv".to_owned(), vec!["tagged-obj".to_owned()])])
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
async fn tag_only_change_writes_nothing(w: &World) {
    apply(
        &w.client,
        NS,
        &push_to(
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
async fn imports_with_tags(w: &World) {
    let metadata = tag_metadata("fakeTagValue");
    apply(
        &w.client,
        NS,
        &push_to(
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
        ),
    )
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
