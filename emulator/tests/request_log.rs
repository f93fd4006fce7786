//! `Emulator::request_log` in process, as benchmarks and tests embedding
//! the emulator count what a client cost: per-kind counts, kept records,
//! 429s from the vault's budget and from injected faults.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use azure_wi_emulator::{
    Config, Emulator, Endpoint, Failure, KindCount, RequestKind, TokenSpec, config::DEMO_CLIENT_ID,
    config::DEMO_TENANT,
};

async fn access_token(emulator: &Emulator, client: &reqwest::Client) -> String {
    let assertion = emulator
        .mint(&TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let response = client
        .post(format!(
            "https://login.microsoftonline.com/{DEMO_TENANT}/oauth2/v2.0/token"
        ))
        .form(&[
            ("client_id", DEMO_CLIENT_ID),
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
            ("scope", "https://vault.azure.net/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn counts_and_records_tell_each_kind_and_its_429s() {
    let mut config = Config::demo();
    config.throttle.reads_per_10s = 3;
    let emulator = Emulator::start(config).await.unwrap();
    let client = emulator.client().unwrap();
    let log = emulator.request_log();

    // Counted, not recorded: nobody asked for records yet.
    let token = access_token(&emulator, &client).await;
    assert!(log.records().is_empty());
    assert_eq!(
        log.counts().get(RequestKind::Token),
        KindCount {
            answered: 1,
            succeeded: 1,
            throttled: 0
        }
    );

    log.keep_records(true);
    let before = log.counts();
    let get = |path: String| client.get(path).bearer_auth(&token).send();
    let vault = emulator.vault_url("orders-kv");
    emulator.faults().fail_next(
        Endpoint::KeyVault,
        1,
        Failure {
            status: 429,
            retry_after: Some(4),
        },
    );
    let statuses = [
        get(format!("{vault}/secrets/db-password?api-version=7.6")).await,
        get(format!("{vault}/secrets/db-password?api-version=7.6")).await,
        get(format!("{vault}/secrets/api-key/versions?api-version=7.6")).await,
        get(format!("{vault}/secrets?api-version=7.6")).await,
        // The fourth read of a budget of three.
        get(format!("{vault}/secrets/api-key?api-version=7.6")).await,
    ]
    .map(|r| r.unwrap().status().as_u16());
    assert_eq!(statuses, [429, 200, 200, 200, 429]);

    let window = log.counts().since(&before);
    assert_eq!(
        window.get(RequestKind::SecretGet),
        KindCount {
            answered: 3,
            succeeded: 1,
            throttled: 2
        }
    );
    assert_eq!(window.get(RequestKind::SecretVersions).succeeded, 1);
    assert_eq!(window.get(RequestKind::SecretList).succeeded, 1);
    assert_eq!(window.key_vault().answered, 5);
    assert_eq!(window.key_vault().throttled, 2);
    assert_eq!(window.tokens(), KindCount::default());

    let records = log.take_records();
    // The budget's Retry-After is the seconds left in its 10 s window.
    let throttled = records.last().unwrap().retry_after.unwrap();
    assert!((1..=10).contains(&throttled), "{throttled}");
    let seen: Vec<_> = records
        .iter()
        .map(|r| (r.kind, r.name.as_deref(), r.status, r.retry_after))
        .collect();
    assert_eq!(
        seen,
        [
            (RequestKind::SecretGet, Some("db-password"), 429, Some(4)),
            (RequestKind::SecretGet, Some("db-password"), 200, None),
            (RequestKind::SecretVersions, Some("api-key"), 200, None),
            (RequestKind::SecretList, None, 200, None),
            (
                RequestKind::SecretGet,
                Some("api-key"),
                429,
                Some(throttled)
            ),
        ]
    );
    assert!(
        records
            .iter()
            .all(|r| r.vault.as_deref() == Some("orders-kv"))
    );
    assert!(log.records().is_empty(), "taken");

    log.reset();
    assert_eq!(log.counts().iter().count(), 0);
}
