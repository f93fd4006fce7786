//! Time bounds of `webhook serve` against clients that hold connections:
//! an upload that stalls or trickles is cut off at the request deadline
//! (408, connection closed) while good admissions go on, and SIGTERM ends
//! the process within the drain time even while such an upload is open.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::time::{Duration, Instant};

use support::{Webhook, client_trusting, generate_certs, write_service_accounts};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

type TlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A TLS connection to the webhook that has sent the headers of an
/// admission declaring a 1,000-byte body, and one byte of it.
async fn upload_started(port: u16, ca: &str) -> TlsStream {
    let mut stream = support::tls_connect(port, ca).await;
    stream
        .write_all(
            b"POST /mutate-v1-pod HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
        )
        .await
        .unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Everything the server sends until it closes the connection, and how
/// long that took; `None` if it is still open after `limit`.
async fn until_closed(stream: &mut TlsStream, limit: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0_u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| {
        (
            String::from_utf8_lossy(&received).into_owned(),
            started.elapsed(),
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_trickling_uploads_are_cut_off_at_the_request_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let webhook = Webhook::start(
        dir.path(),
        &write_service_accounts(dir.path()),
        &["--request-timeout", "1s"],
    );
    webhook.wait_ready().await;
    let port = webhook.webhook.port();

    // Stalled: one byte of the body, then nothing.
    let mut stalled = upload_started(port, &ca).await;
    // Trickling: a byte every 200 ms, forever if allowed.
    let trickling = upload_started(port, &ca).await;
    let (mut reader, mut writer) = tokio::io::split(trickling);
    let trickle = tokio::spawn(async move {
        let mut sent = 1;
        while writer.write_all(b" ").await.is_ok() && writer.flush().await.is_ok() {
            sent += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sent
    });

    // Good admissions keep succeeding meanwhile.
    let client = client_trusting(&ca);
    for i in 0..5 {
        support::admit(&client, &webhook.url(), &format!("good-{i}"))
            .await
            .unwrap();
    }

    let (answer, took) = until_closed(&mut stalled, Duration::from_secs(5))
        .await
        .expect("the stalled upload's connection is closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < Duration::from_secs(4), "{took:?}");

    let mut received = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut received)).await;
    assert!(
        read.is_ok(),
        "the trickling upload's connection is still open"
    );
    let answer = String::from_utf8_lossy(&received);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let sent = tokio::time::timeout(Duration::from_secs(5), trickle)
        .await
        .expect("writes fail once the server closed")
        .unwrap();
    assert!(
        sent < 1000,
        "the whole body was accepted byte by byte: {sent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_process_while_an_upload_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let mut webhook = Webhook::start(
        dir.path(),
        &write_service_accounts(dir.path()),
        &[
            "--shutdown-delay",
            "0s",
            "--drain-timeout",
            "1s",
            "--request-timeout",
            "60s",
        ],
    );
    webhook.wait_ready().await;
    let mut stalled = upload_started(webhook.webhook.port(), &ca).await;
    // The upload is in the server's hands before the signal.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sigterm = Instant::now();
    webhook.terminate();
    assert_eq!(webhook.wait_exit(Duration::from_secs(10)), Some(0));
    let took = sigterm.elapsed();
    assert!(took < Duration::from_secs(5), "exit took {took:?}");
    assert!(
        until_closed(&mut stalled, Duration::from_secs(2))
            .await
            .is_some(),
        "the stalled connection outlived the process"
    );
    let logs = webhook.logs.lock().unwrap().join("\n");
    assert!(
        logs.contains("closed a connection still open at the end of the drain"),
        "{logs}"
    );
    assert!(logs.contains("shut down cleanly"), "{logs}");
}

#[tokio::test]
async fn a_refused_body_is_logged_with_one_message_field() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let webhook = Webhook::start(dir.path(), &write_service_accounts(dir.path()), &[]);
    webhook.wait_ready().await;
    let answer = client_trusting(&ca)
        .post(webhook.url())
        .header("content-type", "application/json")
        .body(r#"{"kind": "NotAReview"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let line = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let found = webhook
                .logs
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains("not a usable AdmissionReview"))
                .cloned();
            if let Some(line) = found {
                return line;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(line.matches("\"message\"").count(), 1, "{line}");
    let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        parsed["fields"]["message"],
        "refused a request that is not a usable AdmissionReview"
    );
    assert!(parsed["fields"]["reason"].is_string(), "{line}");
}

/// Sends the headers of an admission declaring `length` body bytes and
/// one byte of it.
async fn upload_declaring(port: u16, ca: &str, length: usize) -> TlsStream {
    let mut stream = support::tls_connect(port, ca).await;
    let head = format!(
        "POST /mutate-v1-pod HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_past_the_body_budget_get_503_at_once_and_good_admissions_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let webhook = Webhook::start(
        dir.path(),
        &write_service_accounts(dir.path()),
        &[
            "--max-buffered-body-bytes",
            &(8 << 20).to_string(),
            "--request-timeout",
            "2s",
        ],
    );
    webhook.wait_ready().await;
    let port = webhook.webhook.port();

    // 3 MiB of the 8 MiB budget taken by a stalled upload...
    let mut holding = upload_declaring(port, &ca, 3 << 20).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...so a 6 MiB one is refused before any of its body is read.
    let mut refused = upload_declaring(port, &ca, 6 << 20).await;
    let (answer, took) = until_closed(&mut refused, Duration::from_secs(5))
        .await
        .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    // Good admissions fit in what is left.
    let client = client_trusting(&ca);
    for i in 0..5 {
        support::admit(&client, &webhook.url(), &format!("small-{i}"))
            .await
            .unwrap();
    }
    // When the stalled upload is cut off at its deadline, its bytes come back.
    let (cut, _) = until_closed(&mut holding, Duration::from_secs(5))
        .await
        .expect("the stalled upload is cut off");
    assert!(cut.starts_with("HTTP/1.1 408"), "{cut}");
    let mut admitted = upload_declaring(port, &ca, 6 << 20).await;
    assert!(
        until_closed(&mut admitted, Duration::from_millis(500))
            .await
            .is_none(),
        "the 6 MiB upload now waits for its body instead of a 503"
    );
}
