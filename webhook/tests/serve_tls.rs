//! `webhook serve` over real TLS on loopback: a client that trusts only the
//! generated CA posts AdmissionReviews.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use support::{Webhook, client_trusting, generate_certs, review, write_service_accounts};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[tokio::test]
async fn admits_v1_and_v1beta1_over_tls_trusting_only_the_generated_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let webhook = Webhook::start(dir.path(), &write_service_accounts(dir.path()), &[]);
    webhook.wait_ready().await;
    let client = client_trusting(&ca);

    for version in ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] {
        let response = client
            .post(webhook.url())
            .header("content-type", "application/json")
            .body(review(version, "uid-1").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let out: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(out["apiVersion"], version);
        assert_eq!(out["response"]["uid"], "uid-1");
        let patch = base64::engine::general_purpose::STANDARD
            .decode(out["response"]["patch"].as_str().unwrap())
            .unwrap();
        let patch: Vec<Value> = serde_json::from_slice(&patch).unwrap();
        let env = patch
            .iter()
            .find(|op| op["path"] == "/spec/containers/0/env")
            .unwrap();
        assert_eq!(env["value"][0]["value"], support::CLIENT_ID);
        assert_eq!(env["value"][1]["value"], support::TENANT);
    }

    // A client that trusts another CA refuses the server.
    let other = tempfile::tempdir().unwrap();
    let other_ca = generate_certs(other.path());
    let error = client_trusting(&other_ca)
        .post(webhook.url())
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
}

#[tokio::test]
async fn oversized_malformed_and_mistyped_bodies_are_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let webhook = Webhook::start(dir.path(), &write_service_accounts(dir.path()), &[]);
    webhook.wait_ready().await;
    let client = client_trusting(&ca);
    let send = |body: Vec<u8>, content_type: &'static str| {
        client
            .post(webhook.url())
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    // An oversized body is refused from its declared length, before the
    // server reads it: the client gets 413 while it has sent only the headers.
    // (A client streaming the whole body may instead see the connection
    // closed under it, which is why this is checked on a raw stream.)
    let status = status_of_declared_oversize(webhook.webhook.port(), &ca).await;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");

    let response = send(b"{\"apiVersion\":\"v1\"}".to_vec(), "application/json")
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        "expected kind AdmissionReview, got \"\""
    );

    let body = review("admission.k8s.io/v1", "u").to_string().into_bytes();
    let response = send(body, "application/x-yaml").await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        "expected Content-Type application/json, got \"application/x-yaml\""
    );

    // The server is still healthy and counted each outcome.
    support::admit(&client, &webhook.url(), "after")
        .await
        .unwrap();
    let metrics = reqwest::get(format!("http://{}/metrics", webhook.metrics))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("azwi_admission_bad_requests_total{reason=\"review\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("azwi_admission_bad_requests_total{reason=\"content_type\"} 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("outcome=\"error\""), "{metrics}");
    assert!(
        metrics.contains("azwi_admission_requests_total{outcome=\"allowed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("azwi_serviceaccount_cache_size 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("azwi_serving_certificate_expiry_timestamp_seconds"),
        "{metrics}"
    );
}

/// Sends only the headers of a request declaring a body over the limit and
/// returns the response's status line.
async fn status_of_declared_oversize(port: u16, ca: &str) -> String {
    let mut stream = support::tls_connect(port, ca).await;
    let head = format!(
        "POST /mutate-v1-pod HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        8 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0_u8; 1024];
    while !received.windows(2).any(|w| w == b"\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("the server answers without waiting for the body")
            .unwrap();
        assert!(n > 0, "connection closed before a status line");
        received.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&received);
    text.lines().next().unwrap_or_default().to_owned()
}

async fn handshake(
    port: u16,
    ca: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<(), String> {
    let config = support::tls_trusting(ca, versions);
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    connector
        .connect(name, tcp)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn tls_1_2_is_refused_by_default_and_accepted_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let sas = write_service_accounts(dir.path());

    let strict = Webhook::start(dir.path(), &sas, &[]);
    strict.wait_ready().await;
    assert!(
        handshake(strict.webhook.port(), &ca, &[&rustls::version::TLS13])
            .await
            .is_ok()
    );
    let error = handshake(strict.webhook.port(), &ca, &[&rustls::version::TLS12])
        .await
        .unwrap_err();
    assert!(
        error.contains("ProtocolVersion") || error.contains("protocol version"),
        "{error}"
    );

    let lenient = Webhook::start(dir.path(), &sas, &["--tls-min-version", "1.2"]);
    lenient.wait_ready().await;
    handshake(lenient.webhook.port(), &ca, &[&rustls::version::TLS12])
        .await
        .unwrap();
}

#[tokio::test]
async fn slow_clients_are_cut_off_by_the_header_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    generate_certs(dir.path());
    let webhook = Webhook::start(
        dir.path(),
        &write_service_accounts(dir.path()),
        &["--header-read-timeout", "500ms"],
    );
    webhook.wait_ready().await;
    let mut stream = tokio::net::TcpStream::connect(webhook.health)
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was not closed");
    assert!(
        !String::from_utf8_lossy(&buf).contains("200 OK"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
}

#[tokio::test]
async fn stays_up_and_unready_until_the_certificate_appears() {
    let dir = tempfile::tempdir().unwrap();
    let certs_dir = dir.path().join("certs");
    std::fs::create_dir(&certs_dir).unwrap();
    let webhook = Webhook::start(&certs_dir, &write_service_accounts(dir.path()), &[]);
    let readyz = format!("http://{}/readyz", webhook.health);
    let response = reqwest::get(&readyz).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.text().await.unwrap(),
        "not ready: serving certificate not loaded"
    );

    let ca = generate_certs(&certs_dir);
    webhook.wait_ready().await;
    support::admit(&client_trusting(&ca), &webhook.url(), "late")
        .await
        .unwrap();
}

#[tokio::test]
async fn denials_are_logged_as_json_naming_pod_namespace_and_service_account() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let webhook = Webhook::start(dir.path(), &write_service_accounts(dir.path()), &[]);
    webhook.wait_ready().await;
    let mut body = review("admission.k8s.io/v1", "uid-denied");
    body["request"]["object"]["spec"]["serviceAccountName"] = "ghost".into();
    let response = client_trusting(&ca)
        .post(webhook.url())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let mut denial = None;
    for _ in 0..100 {
        denial = webhook
            .logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|entry| entry["fields"]["message"] == "denied");
        if denial.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let denial = denial.expect("a denial is logged");
    assert_eq!(denial["level"], "INFO");
    assert_eq!(
        denial["fields"]["reason"],
        "serviceaccounts \"ghost\" not found"
    );
    assert_eq!(denial["fields"]["code"], 400);
    let span = &denial["span"];
    assert_eq!(span["uid"], "uid-denied");
    assert_eq!(span["namespace"], "team-a");
    assert_eq!(span["pod"], "app- (prefix)");
    assert_eq!(span["service_account"], "ghost");
    assert_eq!(span["dry_run"], false);
}
