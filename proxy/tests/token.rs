//! The proxy over a real socket against the emulator's Entra ID and Key
//! Vault: IMDS's token API answered with the pod's workload identity (the
//! token then reads a secret), refusals before any exchange, a failed
//! exchange answered with its diagnosis while the proxy keeps serving, the
//! node's identity paths refused, and other paths forwarded to IMDS.
// Test code: a failed setup is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use azure_wi_proxy::server::{ProxySettings, router, serve};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// What the fake IMDS saw: method, path and query, the Metadata header.
type Seen = Arc<Mutex<Vec<(String, String, Option<String>)>>>;

/// A fake IMDS on loopback, answering every request with a fixed JSON.
async fn fake_imds() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let record = Arc::clone(&seen);
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let record = Arc::clone(&record);
        async move {
            record.lock().unwrap().push((
                request.method().to_string(),
                request.uri().to_string(),
                request
                    .headers()
                    .get("Metadata")
                    .map(|v| v.to_str().unwrap().to_owned()),
            ));
            (
                [("content-type", "application/json"), ("x-imds", "fake")],
                r#"{"compute":{"location":"westeurope"}}"#,
            )
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

struct Running {
    emulator: Emulator,
    url: String,
    seen: Seen,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    _stop: tokio_util::sync::DropGuard,
}

async fn start(default_client_id: Option<&str>) -> Running {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let (imds, seen) = fake_imds().await;
    let settings = ProxySettings {
        default_client_id: default_client_id.map(str::to_owned),
        tenant_id: DEMO_TENANT.to_owned(),
        token_file,
        authority_host: Some(emulator.authority_host()),
        imds_address: imds.to_string(),
    };
    let app = router(settings, Some(emulator.client().unwrap())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    tokio::spawn(serve(listener, app, stop.clone()));
    Running {
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        emulator,
        url,
        seen,
        _dir: dir,
        _stop: stop.drop_guard(),
    }
}

impl Running {
    async fn get(&self, path_and_query: &str) -> (u16, String, reqwest::header::HeaderMap) {
        let answer = self
            .http
            .get(format!("{}{path_and_query}", self.url))
            .header("Metadata", "true")
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        (status, answer.text().await.unwrap(), headers)
    }
}

const TOKEN: &str =
    "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net";

#[tokio::test]
async fn a_token_request_is_answered_with_the_pods_identity_and_the_token_reads_key_vault() {
    let running = start(Some(DEMO_CLIENT_ID)).await;
    let (status, body, headers) = running.get(TOKEN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        headers["server"]
            .to_str()
            .unwrap()
            .starts_with("azure-wi-proxy/")
    );
    let token: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = token
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "refresh_token",
            "expires_in",
            "expires_on",
            "not_before",
            "resource",
            "token_type"
        ]
    );
    assert_eq!(token["resource"], "https://vault.azure.net");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["refresh_token"], "");
    assert_eq!(token["not_before"], 0);
    let expires_in = token["expires_in"].as_i64().unwrap();
    assert!((3000..3600).contains(&expires_in), "{expires_in}");
    assert!(token["expires_on"].as_str().unwrap().parse::<u64>().is_ok());

    // The token is the identity's: Key Vault answers with the secret.
    let secret: Value = running
        .emulator
        .client()
        .unwrap()
        .get(format!(
            "{}/secrets/db-password?api-version=7.4",
            running.emulator.vault_url("orders-kv")
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(secret["value"], "s3cr3t-from-key-vault");

    // Asked again, the credential's cache answers: no second exchange.
    let exchanges = running.emulator.counters().token_requests();
    let (status, _, _) = running.get(TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(running.emulator.counters().token_requests(), exchanges);
    // A plain `curl -H Metadata:true`, as scripts ask IMDS.
    let url = format!("{}{TOKEN}", running.url);
    let curl = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-s", "-H", "Metadata:true", &url])
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let answered: Value = serde_json::from_slice(&curl.stdout).unwrap();
    assert_eq!(answered["token_type"], "Bearer");

    // The client id may be named; `METADATA` in any case.
    let named = format!(
        "/METADATA/identity/oauth2/token?resource=https://vault.azure.net&client_id={DEMO_CLIENT_ID}"
    );
    assert_eq!(running.get(&named).await.0, 200);
}

#[tokio::test]
async fn requests_missing_a_resource_or_a_client_id_are_refused_before_any_exchange() {
    let running = start(Some(DEMO_CLIENT_ID)).await;
    let (status, body, _) = running
        .get("/metadata/identity/oauth2/token?api-version=2018-02-01")
        .await;
    assert_eq!(
        (status, body.as_str()),
        (400, "The resource parameter is required.\n")
    );

    let without_client = start(None).await;
    let (status, body, _) = without_client.get(TOKEN).await;
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            "The client_id parameter or AZURE_CLIENT_ID environment variable must be set\n"
        )
    );
    assert_eq!(running.emulator.counters().token_requests(), 0);
    assert_eq!(without_client.emulator.counters().token_requests(), 0);
}

#[tokio::test]
async fn a_refused_exchange_carries_its_diagnosis_and_the_proxy_keeps_serving() {
    let running = start(Some(DEMO_CLIENT_ID)).await;
    let stranger = "00000000-0000-4000-8000-0000000000aa";
    let (status, body, _) = running.get(&format!("{TOKEN}&client_id={stranger}")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("AADSTS700016"), "{body}");
    assert!(!body.contains("eyJ"), "no token in the answer: {body}");
    assert_eq!(running.get(TOKEN).await.0, 200);
    assert_eq!(running.get("/readyz").await.1, "ok");
}

#[tokio::test]
async fn other_imds_paths_are_forwarded_and_the_nodes_identity_is_not() {
    let running = start(Some(DEMO_CLIENT_ID)).await;
    let (status, body, headers) = running
        .get("/metadata/instance?api-version=2021-02-01&format=json")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"{"compute":{"location":"westeurope"}}"#);
    assert_eq!(headers["x-imds"], "fake");
    assert_eq!(
        running.seen.lock().unwrap().clone(),
        [(
            "GET".to_owned(),
            "/metadata/instance?api-version=2021-02-01&format=json".to_owned(),
            Some("true".to_owned())
        )]
    );

    for path in [
        "/metadata/identity/info",
        "/metadata/identity/oauth2/tokens/x",
    ] {
        let (status, body, _) = running.get(path).await;
        if path.ends_with("/x") {
            // A prefix of the token path: the token API, as the reference
            // routes it (and no resource here).
            assert_eq!(status, 400, "{path}: {body}");
        } else {
            assert_eq!(status, 403, "{path}: {body}");
        }
    }
    assert_eq!(
        running.seen.lock().unwrap().len(),
        1,
        "nothing else reached IMDS"
    );
}
