//! The Key Vault client shares the credential's transport and clock: one
//! connection pool, and retries timed on the clock the caller injected.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use azure_wi_auth::{
    Error, RetryPolicy, SecretClient, WorkloadIdentityConfig, WorkloadIdentityCredential,
    clock::{Clock as _, RecordingClock},
    transport::{HttpRequest, HttpResponse, Transport},
};
use futures::future::BoxFuture;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

/// Entra ID and one vault behind one transport; the vault throttles the
/// first authorized read with a `Retry-After` date 3 s after the clock's
/// now.
#[derive(Debug)]
struct Cloud {
    clock: Arc<RecordingClock>,
    seen: Mutex<Vec<String>>,
}

fn answer(status: u16, headers: &[(&str, String)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

impl Transport for Cloud {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>> {
        Box::pin(async move {
            let host = request.url.host_str().unwrap().to_owned();
            let authorized = request
                .headers
                .iter()
                .any(|(k, v)| k == "authorization" && v == "Bearer vault-token");
            let mut seen = self.seen.lock().unwrap();
            seen.push(format!(
                "{host} {}",
                if authorized { "bearer" } else { "-" }
            ));
            let vault_reads = seen
                .iter()
                .filter(|s| *s == "orders.vault.azure.net bearer")
                .count();
            drop(seen);
            Ok(match (host.as_str(), authorized) {
                ("login.microsoftonline.com", _) => answer(
                    200,
                    &[],
                    r#"{"token_type":"Bearer","expires_in":3600,"access_token":"vault-token"}"#,
                ),
                ("orders.vault.azure.net", false) => answer(
                    401,
                    &[(
                        "www-authenticate",
                        format!(
                            r#"Bearer authorization="https://login.microsoftonline.com/{TENANT}", resource="https://vault.azure.net""#
                        ),
                    )],
                    "",
                ),
                ("orders.vault.azure.net", true) if vault_reads == 1 => {
                    let at = time::OffsetDateTime::from(self.clock.now() + Duration::from_secs(3));
                    let date = at
                        .format(&time::format_description::well_known::Rfc2822)
                        .unwrap();
                    answer(
                        429,
                        &[("retry-after", date)],
                        r#"{"error":{"code":"Throttled","message":"Too many requests"}}"#,
                    )
                }
                ("orders.vault.azure.net", true) => answer(
                    200,
                    &[],
                    r#"{"value":"s3cret","id":"https://orders.vault.azure.net/secrets/db-password/0123456789abcdef0123456789abcdef","attributes":{"enabled":true}}"#,
                ),
                (other, _) => panic!("unexpected request to {other}"),
            })
        })
    }
}

#[tokio::test]
async fn key_vault_shares_the_credentials_transport_and_waits_on_its_clock() {
    // Stopped in 2001: a client that read the system clock instead would
    // see every date this clock produces as long past.
    let clock = Arc::new(RecordingClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000),
    ));
    let cloud = Arc::new(Cloud {
        clock: Arc::clone(&clock),
        seen: Mutex::new(Vec::new()),
    });
    let dir = tempfile::tempdir().unwrap();
    // Only the credential is given the transport.
    let credential = credential(&cloud, dir.path());
    let client = SecretClient::new("https://orders.vault.azure.net", credential).unwrap();

    let secret = client.get_secret("db-password").await.unwrap();
    assert_eq!(secret.value.expose(), "s3cret");
    assert_eq!(
        *cloud.seen.lock().unwrap(),
        [
            "orders.vault.azure.net -",
            "login.microsoftonline.com -",
            "orders.vault.azure.net bearer",
            "orders.vault.azure.net bearer",
        ]
    );
    // Retry-After's date is 3 s after the injected clock's now: the client
    // waited exactly that, on the injected clock.
    assert_eq!(clock.slept(), [Duration::from_secs(3)]);
}

/// The transport handed to the credential, sharing the test's view of it.
#[derive(Debug)]
struct SharedCloud(Arc<Cloud>);

impl Transport for SharedCloud {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>> {
        self.0.send(request)
    }
}

fn credential(cloud: &Arc<Cloud>, dir: &std::path::Path) -> WorkloadIdentityCredential {
    let token_file = dir.join("token");
    std::fs::write(&token_file, ASSERTION).unwrap();
    let config = WorkloadIdentityConfig::builder()
        .client_id("3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34")
        .tenant_id(TENANT)
        .token_file(&token_file)
        .build()
        .unwrap();
    WorkloadIdentityCredential::builder(config)
        .with_transport(SharedCloud(Arc::clone(cloud)))
        .with_clock(cloud.clock.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_known_challenge_skips_the_probe_and_retry_after_reaches_the_caller() {
    let clock = Arc::new(RecordingClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000),
    ));
    let cloud = Arc::new(Cloud {
        clock: Arc::clone(&clock),
        seen: Mutex::new(Vec::new()),
    });
    let dir = tempfile::tempdir().unwrap();
    let credential = credential(&cloud, dir.path());
    // No retries: the throttled answer is the caller's, with its wait.
    let once = RetryPolicy::once();
    let first = SecretClient::builder("https://orders.vault.azure.net", credential.clone())
        .with_retry_policy(once)
        .build()
        .unwrap();
    assert!(first.challenge().is_none());
    let err = first.get_secret("db-password").await.unwrap_err();
    assert!(
        matches!(&err, Error::KeyVault { status: 429, retry_after: Some(wait), .. }
            if *wait == Duration::from_secs(3)),
        "{err:?}"
    );
    assert!(clock.slept().is_empty(), "one attempt, no wait");
    let challenge = first.challenge().unwrap();
    assert_eq!(challenge.scope, "https://vault.azure.net/.default");

    // A second client told the challenge sends its token straight away.
    let before = cloud.seen.lock().unwrap().len();
    let second = SecretClient::builder("https://orders.vault.azure.net", credential.clone())
        .with_challenge(challenge.clone())
        .build()
        .unwrap();
    assert_eq!(
        second
            .get_secret("db-password")
            .await
            .unwrap()
            .value
            .expose(),
        "s3cret"
    );
    assert_eq!(
        cloud.seen.lock().unwrap()[before..],
        ["orders.vault.azure.net bearer"]
    );

    // A challenge is vetted as one from the vault would be: another
    // tenant's, or another resource's, is refused before any request.
    for (tenant, resource) in [
        (
            Some("00000000-0000-4000-8000-000000000000"),
            "vault.azure.net",
        ),
        (Some(TENANT), "storage.azure.com"),
    ] {
        let foreign = azure_wi_auth::Challenge {
            tenant: tenant.map(str::to_owned),
            resource_host: resource.to_owned(),
            ..challenge.clone()
        };
        let refused = SecretClient::builder("https://orders.vault.azure.net", credential.clone())
            .with_challenge(foreign)
            .build()
            .unwrap_err();
        assert!(matches!(refused, Error::Challenge { .. }), "{refused:?}");
    }
}
