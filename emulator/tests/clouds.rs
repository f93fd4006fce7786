//! Every cloud core names is served: its Entra host and its vaults are
//! covered by the emulator's certificate, mapped by its DNS overrides and
//! tunnelled by its proxy, and each answers as that cloud's service would
//! (discovery documents and vault challenges name that cloud's authority
//! and Key Vault resource), and a workload of each cloud reads a secret
//! from that cloud's vault through `azure-wi-auth`.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use azure_wi_core::AzureCloud;
use azure_wi_emulator::{Config, Emulator, config::DEMO_TENANT};
use serde_json::Value;

const SECRET: &str = "db-password";

/// A client that reaches the emulator only through its `CONNECT` proxy,
/// as a process given `HTTPS_PROXY` does: no names are mapped.
fn proxied_client(emulator: &Emulator) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem().as_bytes()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .proxy(reqwest::Proxy::https(emulator.proxy_url()).unwrap())
        .build()
        .unwrap()
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The tenant discovery document at `cloud`'s authority names that
/// authority: MSAL-style clients check it against the one they called.
async fn check_discovery(client: &reqwest::Client, cloud: AzureCloud) {
    let authority = cloud.authority_host();
    let (status, doc) = json(
        client
            .get(format!(
                "{authority}{DEMO_TENANT}/v2.0/.well-known/openid-configuration"
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{cloud}: {doc}");
    assert_eq!(
        doc["token_endpoint"],
        format!("{authority}{DEMO_TENANT}/oauth2/v2.0/token"),
        "{cloud}"
    );
    assert_eq!(
        doc["issuer"],
        format!("{authority}{DEMO_TENANT}/v2.0"),
        "{cloud}"
    );
}

/// The token endpoint answers at `cloud`'s authority with Entra's own
/// refusal of a request that carries no client assertion.
async fn check_token_endpoint(client: &reqwest::Client, cloud: AzureCloud) {
    let (status, body) = json(
        client
            .post(format!(
                "{}{DEMO_TENANT}/oauth2/v2.0/token",
                cloud.authority_host()
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{cloud}: {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("AADSTS")),
        "{cloud}: {body}"
    );
}

/// An unauthenticated read of a vault in `cloud` is challenged towards
/// that cloud's Entra and Key Vault resource, which is where a
/// challenge-following SDK then asks for its token.
async fn check_challenge(emulator: &Emulator, client: &reqwest::Client, cloud: AzureCloud) {
    let url = format!(
        "{}/secrets/{SECRET}?api-version=7.4",
        emulator.vault_url_in(cloud, "orders-kv")
    );
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401, "{cloud}");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let scope = cloud.key_vault_scope();
    let resource = scope.as_str().strip_suffix("/.default").unwrap();
    assert_eq!(
        challenge,
        format!(
            "Bearer authorization=\"{}{DEMO_TENANT}\", resource=\"{resource}\"",
            cloud.authority_host()
        ),
        "{cloud}"
    );
}

/// A workload of `cloud` reads the vault's secret through `azure-wi-auth`:
/// the exchange at that cloud's authority for that cloud's Key Vault
/// resource, the token accepted by that cloud's vault.
async fn check_secret_read(emulator: &Emulator, http: reqwest::Client, cloud: AzureCloud) {
    use azure_wi_auth::{
        Assertion, FederatedIdentity, WorkloadVaults,
        delivery::{ReadAs, VaultObjects as _},
    };
    use azure_wi_emulator::{TokenSpec, config::DEMO_CLIENT_ID};
    let token = emulator
        .mint(&TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let reader = ReadAs::workload(
        FederatedIdentity::new(
            DEMO_TENANT.parse().unwrap(),
            DEMO_CLIENT_ID.parse().unwrap(),
        ),
        cloud,
        Assertion::new(token).unwrap(),
    );
    let vaults = WorkloadVaults::with_http_client(http).unwrap();
    let secret = vaults
        .secret(
            &emulator.vault_url_in(cloud, "orders-kv"),
            &reader,
            SECRET,
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{cloud}: {e}"));
    assert_eq!(secret.value.expose(), "s3cr3t-from-key-vault", "{cloud}");
}

#[tokio::test]
async fn each_clouds_hosts_are_reached_through_the_dns_overrides() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let client = emulator.client().unwrap();
    for cloud in AzureCloud::ALL {
        let mapped: Vec<String> = emulator
            .resolve_overrides()
            .into_iter()
            .map(|(host, _)| host)
            .collect();
        assert!(
            mapped.iter().any(|h| h == cloud.authority_hostname()),
            "{cloud}: {mapped:?}"
        );
        assert!(
            mapped
                .iter()
                .any(|h| *h == format!("orders-kv.{}", cloud.key_vault_dns_suffix())),
            "{cloud}: {mapped:?}"
        );
        check_discovery(&client, cloud).await;
        check_token_endpoint(&client, cloud).await;
        check_challenge(&emulator, &client, cloud).await;
        check_secret_read(&emulator, client.clone(), cloud).await;
    }
}

#[tokio::test]
async fn each_clouds_hosts_are_reached_through_the_proxy() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let client = proxied_client(&emulator);
    for cloud in AzureCloud::ALL {
        check_discovery(&client, cloud).await;
        check_token_endpoint(&client, cloud).await;
        check_challenge(&emulator, &client, cloud).await;
        check_secret_read(&emulator, client.clone(), cloud).await;
    }
}

#[tokio::test]
async fn the_proxy_still_refuses_hosts_of_no_cloud() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let client = proxied_client(&emulator);
    for url in [
        "https://vault.azure.cn/",
        "https://orders-kv.vault.azure.cn.evil.example/",
        "https://login.chinacloudapi.cn.evil.example/",
    ] {
        let error = client.get(url).send().await.unwrap_err();
        assert!(error.is_connect(), "{url}: {error:?}");
    }
}
