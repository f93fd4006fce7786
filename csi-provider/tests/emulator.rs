//! The real Key Vault path end to end: [`AzureKeyVault`] on azure-wi-auth,
//! against the emulator's Entra ID and Key Vault, with ServiceAccount
//! tokens signed by the emulated cluster's issuer.
// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime};

use azure_wi_csi_provider::{
    Error,
    keyvault::AzureKeyVault,
    mount::{MountOptions, Mounter},
    proto::{MountRequest, MountResponse},
};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use common::{driver_request, objects};

fn request(emulator: &Emulator, spec: &TokenSpec) -> MountRequest {
    let token = emulator.mint(spec).unwrap();
    let objects = objects(&[
        "objectName: db-password; objectType: secret",
        "objectName: signing-ec; objectType: key",
        "objectName: signing-rsa; objectType: key",
        "objectName: web-tls; objectType: cert; objectAlias: web-tls.crt",
        "objectName: web-tls; objectType: secret; objectAlias: web-tls.pem",
    ]);
    driver_request(
        &[
            ("keyvaultName", "orders-kv"),
            ("tenantID", DEMO_TENANT),
            ("clientID", DEMO_CLIENT_ID),
            ("objects", &objects),
        ],
        Some(&token),
    )
}

fn file<'a>(response: &'a MountResponse, path: &str) -> &'a str {
    let file = response
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no file {path}"));
    assert_eq!(file.mode, 420, "{path}");
    std::str::from_utf8(&file.contents).unwrap()
}

fn is_version(v: &str) -> bool {
    v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

fn replica(issued_ago: u64) -> TokenSpec {
    TokenSpec::new("team-a", "orders-api")
        .issued_at(SystemTime::now() - Duration::from_secs(issued_ago))
}

#[tokio::test]
async fn pods_mount_secrets_keys_and_certificates_with_one_exchange_per_service_account() {
    let emulator = Emulator::start(Config::demo_with_keys_and_certificates())
        .await
        .unwrap();
    let mounter = Mounter::new(
        AzureKeyVault::with_http_client(emulator.client().unwrap()).unwrap(),
        MountOptions::default(),
    );

    let response = mounter
        .mount(&request(&emulator, &replica(0)))
        .await
        .unwrap();
    assert_eq!(file(&response, "db-password"), "s3cr3t-from-key-vault");
    for key in ["signing-ec", "signing-rsa"] {
        let pem = file(&response, key);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        assert!(
            pem.trim_end().ends_with("-----END PUBLIC KEY-----"),
            "{pem}"
        );
    }
    let cert = file(&response, "web-tls.crt");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"), "{cert}");
    assert_eq!(cert.matches("BEGIN CERTIFICATE").count(), 1, "{cert}");
    assert!(!cert.contains("PRIVATE KEY"), "{cert}");
    // The certificate-backed secret (PKCS#12 in Key Vault) as PEM, key first.
    let bundle = file(&response, "web-tls.pem");
    assert!(
        bundle.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "{bundle}"
    );
    let key_at = bundle.find("-----BEGIN PRIVATE KEY-----").unwrap();
    let cert_at = bundle.find("-----BEGIN CERTIFICATE-----").unwrap();
    assert!(key_at < cert_at, "{bundle}");
    // The leaf in the bundle is the certificate object's.
    assert!(bundle.contains(cert.trim_end()), "{bundle}");

    let mut ids: Vec<&str> = response
        .object_version
        .iter()
        .map(|v| {
            assert!(is_version(&v.version), "{v:?}");
            v.id.as_str()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "cert/web-tls",
            "key/signing-ec",
            "key/signing-rsa",
            "secret/db-password",
            "secret/web-tls"
        ]
    );
    // The cert object and its secret are the same version.
    let version = |id: &str| {
        response
            .object_version
            .iter()
            .find(|v| v.id == id)
            .map(|v| v.version.clone())
            .unwrap()
    };
    assert_eq!(version("cert/web-tls"), version("secret/web-tls"));
    assert_eq!(emulator.counters().token_requests(), 1);
    let vault_requests = emulator.counters().vault_requests();

    // More replicas of the ServiceAccount, each with its own token, at
    // once: the shared credential's one token serves them all.
    let requests: Vec<MountRequest> = (1..=4)
        .map(|i| request(&emulator, &replica(i * 10)))
        .collect();
    assert_ne!(requests[0].attributes, requests[1].attributes);
    let mounts = futures::future::join_all(requests.iter().map(|r| mounter.mount(r))).await;
    for mounted in mounts {
        let mounted = mounted.unwrap();
        assert_eq!(file(&mounted, "db-password"), "s3cr3t-from-key-vault");
        assert_eq!(mounted.object_version, response.object_version);
    }
    assert_eq!(emulator.counters().token_requests(), 1);
    assert_eq!(emulator.counters().tokens_issued(), 1);
    // The vault's challenge is known by now: one request per object, no
    // unauthenticated probe first.
    assert_eq!(emulator.counters().vault_requests() - vault_requests, 4 * 5);

    // Another ServiceAccount asking for the same client id is not served
    // that token: Entra refuses its own exchange, and the message names
    // the subject it presented.
    let error = mounter
        .mount(&request(&emulator, &TokenSpec::new("team-b", "billing")))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::FederatedCredentialMismatch { code, .. }
            if [70021, 700_213].contains(code)),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("subject \"system:serviceaccount:team-b:billing\""),
        "{text}"
    );
    assert!(text.contains(&emulator.issuer()), "{text}");
    // azure-wi-auth's diagnosis follows: which claim to compare first,
    // with the token's issuer, subject and audience quoted.
    let Error::FederatedCredentialMismatch { diagnosis, .. } = &error else {
        unreachable!("matched above");
    };
    assert!(
        text.ends_with(&format!("\ndiagnosis: {diagnosis}")),
        "{text}"
    );
    assert!(
        diagnosis.contains("subject is 'system:serviceaccount:team-b:billing'")
            && diagnosis.contains(&format!(
                "audience is '{}'",
                azure_wi_core::names::DEFAULT_AUDIENCE
            )),
        "{diagnosis}"
    );
    if text.starts_with("AADSTS700213") {
        assert!(
            diagnosis.contains("compare the subject first"),
            "{diagnosis}"
        );
    }
    assert_eq!(error.code(), tonic::Code::PermissionDenied);
    assert_eq!(emulator.counters().tokens_issued(), 1);
}

#[tokio::test]
async fn missing_objects_and_versions_name_the_object_and_vault() {
    let emulator = Emulator::start(Config::demo_with_keys_and_certificates())
        .await
        .unwrap();
    let mounter = Mounter::new(
        AzureKeyVault::with_http_client(emulator.client().unwrap()).unwrap(),
        MountOptions::default(),
    );
    let token = emulator.mint(&replica(0)).unwrap();
    let missing = driver_request(
        &[
            ("keyvaultName", "orders-kv"),
            ("tenantID", DEMO_TENANT),
            ("clientID", DEMO_CLIENT_ID),
            (
                "objects",
                &objects(&["objectName: no-such-secret; objectType: secret"]),
            ),
        ],
        Some(&token),
    );
    let error = mounter.mount(&missing).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "secret no-such-secret not found in Key Vault orders-kv: check objectName, objectType \
         and objectVersion"
    );

    // Object version history lists the right type's versions, newest first,
    // skipping disabled ones (signing-rsa has 3 versions, the middle one
    // disabled).
    let history = driver_request(
        &[
            ("keyvaultName", "orders-kv"),
            ("tenantID", DEMO_TENANT),
            ("clientID", DEMO_CLIENT_ID),
            (
                "objects",
                &objects(&["objectName: signing-rsa; objectType: key; objectVersionHistory: 5"]),
            ),
        ],
        Some(&token),
    );
    let response = mounter.mount(&history).await.unwrap();
    let ids: Vec<&str> = response
        .object_version
        .iter()
        .map(|v| {
            assert!(is_version(&v.version), "{v:?}");
            v.id.as_str()
        })
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(
        ids.iter().all(|id| id.starts_with("key/signing-rsa/")),
        "{ids:?}"
    );
}

#[tokio::test]
async fn key_vault_throttling_is_waited_out_as_long_as_the_vault_asks() {
    let mut config = Config::demo_with_keys_and_certificates();
    // Three reads per 10 s window: a five-object mount is throttled and
    // told how many seconds are left in the window.
    config.throttle.reads_per_10s = 3;
    let emulator = Emulator::start(config).await.unwrap();
    let vault = || AzureKeyVault::with_http_client(emulator.client().unwrap()).unwrap();

    // With a deadline shorter than the wait, the mount fails at once with
    // the vault's figure, so kubelet retries instead of a hung mount.
    let impatient = Mounter::new(
        vault(),
        MountOptions {
            deadline: Duration::from_millis(500),
            ..MountOptions::default()
        },
    );
    let started = std::time::Instant::now();
    let error = impatient
        .mount(&request(&emulator, &replica(0)))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Throttled { status: 429, retry_after, .. }
            if (1..=10).contains(&retry_after.as_secs())),
        "{error:?}"
    );
    assert!(error.to_string().contains("asked to wait"), "{error}");
    assert!(started.elapsed() < Duration::from_millis(500));

    // Within the default deadline the same mount waits for the next window.
    let patient = Mounter::new(vault(), MountOptions::default());
    let started = std::time::Instant::now();
    let response = patient
        .mount(&request(&emulator, &replica(0)))
        .await
        .unwrap();
    assert_eq!(file(&response, "db-password"), "s3cr3t-from-key-vault");
    assert_eq!(response.object_version.len(), 5);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < MountOptions::default().deadline,
        "waited {waited:?}"
    );
}
