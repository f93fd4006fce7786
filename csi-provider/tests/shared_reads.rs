//! Shared reads end to end: mounts sent over the provider socket, served
//! by `azure-wi-auth`'s Key Vault client behind [`SharedReads`], against
//! the emulator's Entra ID and Key Vault, whose request log shows every
//! Key Vault request the provider made.
//!
//! The windows are far longer than the mounts they cover (60 s, the
//! longest accepted), or waited out in full, so no assertion depends on
//! how fast this machine is.
// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use azure_wi_auth::{SecretClient, transport::ReqwestTransport};
use azure_wi_csi_provider::{
    keyvault::AzureKeyVault,
    metrics::Metrics,
    mount::{MountOptions, Mounter},
    proto::{CSIDriverProviderClient, MountRequest, MountResponse},
    server::{bind, connect, serve},
    share::{MAX_WINDOW, ShareWindow},
    shared_reads::SharedReads,
};
use azure_wi_emulator::{
    Config, Emulator, RequestKind, RequestRecord, TokenSpec,
    config::{
        DEMO_CLIENT_ID, DEMO_ISSUER, DEMO_TENANT, FederatedCredential, Identity, Role,
        RoleAssignment,
    },
};
use common::{driver_request, objects};
use tonic::transport::Channel;

/// An identity of the tenant trusting `team-b/billing`, with no role on
/// the vault.
const BILLING_CLIENT_ID: &str = "5d0e7a1b-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
const BILLING_OBJECT_ID: &str = "6e1f8b2c-3d4e-4f5a-9b0c-1d2e3f4a5b6c";
/// An identity trusting `team-a/vault-writer`, Key Vault Secrets Officer:
/// the operator who writes new versions.
const WRITER_CLIENT_ID: &str = "7f2a9c3d-4e5f-4a6b-8c1d-2e3f4a5b6c7d";
const WRITER_OBJECT_ID: &str = "8a3b0d4e-5f6a-4b7c-9d2e-3f4a5b6c7d8e";

fn identity(name: &str, client_id: &str, object_id: &str, subject: &str) -> Identity {
    Identity {
        name: name.to_owned(),
        tenant: DEMO_TENANT.to_owned(),
        client_id: client_id.to_owned(),
        object_id: object_id.to_owned(),
        federated_credentials: vec![FederatedCredential {
            name: name.to_owned(),
            issuer: DEMO_ISSUER.to_owned(),
            subject: subject.to_owned(),
            audiences: vec![azure_wi_core::names::DEFAULT_AUDIENCE.to_owned()],
        }],
    }
}

/// The demo vault with keys and certificates, its identity
/// `team-a/orders-api`, a billing identity with no role and a writer.
async fn emulator() -> Emulator {
    let mut config = Config::demo_with_keys_and_certificates();
    config.identities.push(identity(
        "billing",
        BILLING_CLIENT_ID,
        BILLING_OBJECT_ID,
        "system:serviceaccount:team-b:billing",
    ));
    config.identities.push(identity(
        "writer",
        WRITER_CLIENT_ID,
        WRITER_OBJECT_ID,
        "system:serviceaccount:team-a:vault-writer",
    ));
    config.role_assignments.push(RoleAssignment {
        principal_id: WRITER_OBJECT_ID.to_owned(),
        role: Role::SecretsOfficer,
        scope: "orders-kv".to_owned(),
    });
    let emulator = Emulator::start(config).await.unwrap();
    emulator.request_log().keep_records(true);
    emulator
}

/// The provider serving its socket, reading through [`SharedReads`] with
/// `window`, as the binary wires it.
struct Provider {
    client: CSIDriverProviderClient<Channel>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<Result<(), azure_wi_csi_provider::Error>>,
    _dir: tempfile::TempDir,
}

impl Provider {
    async fn start(emulator: &Emulator, window: Duration) -> Self {
        let http = emulator.client().unwrap();
        let vault = AzureKeyVault::with_http_client(http.clone())
            .unwrap()
            .with_key_vault_transport(SharedReads::new(
                ReqwestTransport::new(http),
                ShareWindow::new(window).unwrap(),
            ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("azure.sock");
        let listener = bind(&path).unwrap();
        let mounter = Arc::new(Mounter::new(vault, MountOptions::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, mounter, Arc::new(Metrics::new()), async {
            let _ = stopped.await;
        }));
        let client = CSIDriverProviderClient::new(connect(&path).await.unwrap());
        Self {
            client,
            stop: Some(stop),
            server,
            _dir: dir,
        }
    }

    async fn mount(&self, request: MountRequest) -> Result<MountResponse, tonic::Status> {
        self.client
            .clone()
            .mount(request)
            .await
            .map(tonic::Response::into_inner)
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        (&mut self.server).await.unwrap().unwrap();
    }
}

const FIVE_OBJECTS: [&str; 5] = [
    "objectName: db-password; objectType: secret",
    "objectName: signing-ec; objectType: key",
    "objectName: signing-rsa; objectType: key",
    "objectName: web-tls; objectType: cert; objectAlias: web-tls.crt",
    "objectName: web-tls; objectType: secret; objectAlias: web-tls.pem",
];

/// A replica of `team-a/orders-api`, its token issued `ago` seconds ago.
fn replica(ago: u64) -> TokenSpec {
    TokenSpec::new("team-a", "orders-api").issued_at(SystemTime::now() - Duration::from_secs(ago))
}

/// The driver's request of a pod presenting `token`, naming `client_id`,
/// mounting `entries`.
fn request(token: &str, client_id: &str, entries: &[&str]) -> MountRequest {
    driver_request(
        &[
            ("keyvaultName", "orders-kv"),
            ("tenantID", DEMO_TENANT),
            ("clientID", client_id),
            ("objects", &objects(entries)),
        ],
        Some(token),
    )
}

fn file<'a>(response: &'a MountResponse, path: &str) -> &'a [u8] {
    &response
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no file {path}"))
        .contents
}

/// `(kind, object, status)` of each Key Vault request since the last
/// call, sorted.
fn vault_requests(emulator: &Emulator) -> Vec<(RequestKind, String, u16)> {
    let mut requests: Vec<_> = emulator
        .request_log()
        .take_records()
        .into_iter()
        .filter(|r: &RequestRecord| r.kind.is_key_vault())
        .map(|r| (r.kind, r.name.unwrap_or_default(), r.status))
        .collect();
    requests.sort();
    requests
}

fn gets(of: &[(RequestKind, &str)]) -> Vec<(RequestKind, String, u16)> {
    let mut gets: Vec<_> = of
        .iter()
        .map(|(kind, name)| (*kind, (*name).to_owned(), 200))
        .collect();
    gets.sort();
    gets
}

/// Writes a new version of `name` as the writer: its version id.
async fn write_secret(emulator: &Emulator, name: &str, value: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "vault-writer"))
        .unwrap();
    let credential = emulator
        .credential_builder(DEMO_TENANT, WRITER_CLIENT_ID, &token_file)
        .unwrap()
        .build()
        .unwrap();
    let client = SecretClient::builder(&emulator.vault_url("orders-kv"), credential)
        .with_http_client(emulator.client().unwrap())
        .build()
        .unwrap();
    let written = client.set_secret(name, value).await.unwrap();
    azure_wi_csi_provider::vault::version_of(&written.properties.id).to_owned()
}

fn version<'a>(response: &'a MountResponse, id: &str) -> &'a str {
    &response
        .object_version
        .iter()
        .find(|v| v.id == id)
        .unwrap_or_else(|| panic!("no object version {id}"))
        .version
}

#[tokio::test]
async fn one_identitys_mounts_share_one_get_per_object_and_no_one_else_gets_it() {
    let emulator = emulator().await;
    let provider = Provider::start(&emulator, MAX_WINDOW).await;

    // A first mount of another object learns the vault's challenge, so
    // what follows is only the reads themselves.
    let warm = provider
        .mount(request(
            &emulator.mint(&replica(0)).unwrap(),
            DEMO_CLIENT_ID,
            &["objectName: api-key; objectType: secret"],
        ))
        .await
        .unwrap();
    assert_eq!(file(&warm, "api-key"), b"k-123");
    vault_requests(&emulator);

    // (1) 20 replicas of one ServiceAccount, each with its own token, at
    // once: one GET per object, every pod its five files.
    let tokens: Vec<String> = (1..=20)
        .map(|i| emulator.mint(&replica(i)).unwrap())
        .collect();
    let mounts = futures::future::join_all(
        tokens
            .iter()
            .map(|token| provider.mount(request(token, DEMO_CLIENT_ID, &FIVE_OBJECTS))),
    )
    .await;
    assert_eq!(
        vault_requests(&emulator),
        gets(&[
            (RequestKind::SecretGet, "db-password"),
            (RequestKind::KeyGet, "signing-ec"),
            (RequestKind::KeyGet, "signing-rsa"),
            (RequestKind::CertificateGet, "web-tls"),
            (RequestKind::SecretGet, "web-tls"),
        ])
    );
    let first = mounts[0].as_ref().unwrap();
    assert_eq!(file(first, "db-password"), b"s3cr3t-from-key-vault");
    for mounted in &mounts {
        let mounted = mounted.as_ref().unwrap();
        assert_eq!(mounted.files, first.files);
        assert_eq!(mounted.object_version, first.object_version);
    }
    let old_version = version(first, "secret/db-password").to_owned();

    // Within the window a version written meanwhile is not read yet: the
    // next replica gets the shared answer, and Key Vault sees no GET.
    let new_version = write_secret(&emulator, "db-password", "rotated-password").await;
    assert_ne!(new_version, old_version);
    vault_requests(&emulator);
    let later = provider
        .mount(request(
            &emulator.mint(&replica(30)).unwrap(),
            DEMO_CLIENT_ID,
            &FIVE_OBJECTS,
        ))
        .await
        .unwrap();
    assert_eq!(file(&later, "db-password"), b"s3cr3t-from-key-vault");
    assert_eq!(version(&later, "secret/db-password"), old_version);
    assert_eq!(vault_requests(&emulator), []);

    // (3) Another identity with no role on the vault, right after: its
    // own GET, Key Vault's 403, nothing of the first identity's answer.
    let billing = emulator.mint(&TokenSpec::new("team-b", "billing")).unwrap();
    let refused = provider
        .mount(request(&billing, BILLING_CLIENT_ID, &FIVE_OBJECTS[..1]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    assert!(
        refused.message().contains(BILLING_CLIENT_ID)
            && refused.message().contains("Key Vault Secrets User"),
        "{}",
        refused.message()
    );
    assert!(
        !refused.message().contains("s3cr3t"),
        "{}",
        refused.message()
    );
    assert_eq!(
        vault_requests(&emulator),
        [(RequestKind::SecretGet, "db-password".to_owned(), 403)]
    );

    // (4) Pods naming the first identity's client id with a token Entra
    // refuses: another ServiceAccount's, an expired one, one for another
    // audience. Each is refused before any Key Vault request, though the
    // identity's answer is in the window.
    let expired = replica(7200).lifetime(Duration::from_secs(3600));
    let other_audience = replica(0).audience("api://not-the-token-exchange");
    for (what, spec) in [
        (
            "another ServiceAccount",
            TokenSpec::new("team-b", "billing"),
        ),
        ("an expired token", expired),
        ("another audience", other_audience),
    ] {
        let token = emulator.mint(&spec).unwrap();
        let refused = provider
            .mount(request(&token, DEMO_CLIENT_ID, &FIVE_OBJECTS))
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            tonic::Code::PermissionDenied,
            "{what}: {}",
            refused.message()
        );
        assert!(
            !refused.message().contains("s3cr3t"),
            "{what}: {}",
            refused.message()
        );
        assert_eq!(vault_requests(&emulator), [], "{what}");
    }

    // The first identity's pods are still served from the window.
    let again = provider
        .mount(request(
            &emulator.mint(&replica(40)).unwrap(),
            DEMO_CLIENT_ID,
            &FIVE_OBJECTS,
        ))
        .await
        .unwrap();
    assert_eq!(again.files, first.files);
    assert_eq!(vault_requests(&emulator), []);
    provider.stop().await;
}

#[tokio::test]
async fn a_version_written_between_windows_is_served_at_the_next_read() {
    let emulator = emulator().await;
    let window = Duration::from_millis(500);
    let provider = Provider::start(&emulator, window).await;
    let db_password = ["objectName: db-password; objectType: secret"];
    let mount = |ago| {
        let token = emulator.mint(&replica(ago)).unwrap();
        provider.mount(request(&token, DEMO_CLIENT_ID, &db_password))
    };

    let before = mount(0).await.unwrap();
    assert_eq!(file(&before, "db-password"), b"s3cr3t-from-key-vault");
    let written = write_secret(&emulator, "db-password", "rotated-password").await;
    vault_requests(&emulator);

    // The window counts from when the read was sent, before the mount
    // returned: waiting it out from here leaves it behind.
    tokio::time::sleep(window).await;
    let after = mount(1).await.unwrap();
    assert_eq!(file(&after, "db-password"), b"rotated-password");
    assert_eq!(version(&after, "secret/db-password"), written);
    assert_eq!(
        vault_requests(&emulator),
        gets(&[(RequestKind::SecretGet, "db-password")])
    );
    provider.stop().await;
}
