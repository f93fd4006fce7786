//! Time bounds of `webhook serve` against clients that hold connections:
//! an upload that stalls or trickles is cut off at the request deadline
//! (408, connection closed) while good admissions go on; uploads past the
//! body budget get 503 at once; at the connection cap new connections wait
//! while `/readyz` answers; a client that never reads its response is cut
//! off at the write deadline.
//! SIGTERM during a stalled upload, and the log line of a refused body,
//! are rows of `attacks.rs`.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::time::{Duration, Instant};

use support::{
    TlsStream, Webhook, client_trusting, generate_certs, until_closed, upload_declaring,
    write_service_accounts,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Headers of an admission declaring a 1,000-byte body, and one byte of it.
async fn upload_started(port: u16, ca: &str) -> TlsStream {
    upload_declaring(port, ca, 1000).await
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_new_connections_wait_and_readyz_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let webhook = Webhook::start(
        dir.path(),
        &write_service_accounts(dir.path()),
        &["--max-connections", "20", "--header-read-timeout", "2s"],
    );
    webhook.wait_ready().await;
    let (port, pid) = (webhook.webhook.port(), webhook.pid());
    let rss_before = support::rss_kib(pid);

    // 40 idle TLS connections at once, each given a second to be accepted.
    let attempts: Vec<_> = (0..40)
        .map(|_| {
            let ca = ca.clone();
            tokio::spawn(async move {
                tokio::time::timeout(Duration::from_secs(1), support::tls_connect(port, &ca))
                    .await
                    .ok()
            })
        })
        .collect();
    let mut idle = Vec::new();
    for attempt in attempts {
        idle.extend(attempt.await.unwrap());
    }
    assert_eq!(idle.len(), 20, "handshakes completed past the cap of 20");
    let grown_kib = support::rss_kib(pid).saturating_sub(rss_before);

    // The health listener is not counted.
    let probe = support::ReadyzProbe::start(webhook.health);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (readyz, failed) = probe.finish().await;
    assert!(failed.is_empty(), "/readyz failed: {failed:?}");
    assert!(readyz < Duration::from_secs(1), "/readyz took {readyz:?}");

    // The idle ones are closed at the header-read timeout (2 s after their
    // handshake); a good admission waiting meanwhile gets through then.
    let started = Instant::now();
    support::admit(&client_trusting(&ca), &webhook.url(), "after-the-cap")
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    println!(
        "connection cap 20, 40 idle TLS connections: 20 accepted, RSS +{grown_kib} KiB, \
         /readyz max {} ms, a good admission waited {} ms",
        readyz.as_millis(),
        waited.as_millis()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_response_is_cut_off_at_the_write_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let webhook = Webhook::start(
        dir.path(),
        &support::write_service_accounts_with(dir.path(), &support::long_client_id(3_000)),
        &["--response-write-timeout", "1s"],
    );
    webhook.wait_ready().await;
    let (port, pid) = (webhook.webhook.port(), webhook.pid());

    // A patch larger than the socket buffers can hold: 2,000 containers
    // each given a 3,000-character client id.
    let body = support::review_with_containers("big", 2_000).to_string();
    let whole = support::post_json(&client_trusting(&ca), &webhook.url(), body.clone())
        .await
        .bytes()
        .await
        .unwrap()
        .len();
    assert!(whole > 6 << 20, "the response is only {whole} bytes");

    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = support::open_sockets(pid);
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut stream = support::tls_connect(port, &ca).await;
        stream
            .write_all(&support::raw_admission(body.as_bytes()))
            .await
            .unwrap();
        stream.flush().await.unwrap();
        readers.push(stream);
    }
    let started = Instant::now();
    let mut holding = support::open_sockets(pid);
    assert!(
        holding >= baseline + 3,
        "{holding} sockets, {baseline} before"
    );
    while holding > baseline && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        holding = support::open_sockets(pid);
    }
    let closed_after = started.elapsed();
    assert!(
        holding <= baseline,
        "still holding {holding} sockets ({baseline} before) after {closed_after:?}"
    );
    // Reading now gets what the kernel held, and then the end.
    let (partial, _) = until_closed(&mut readers[0], Duration::from_secs(5))
        .await
        .expect("the connection ends");
    assert!(
        partial.len() < whole,
        "the whole response was still deliverable"
    );
    println!(
        "3 clients that never read a {} MB response: closed after {} ms (deadline 1 s)",
        whole / 1_000_000,
        closed_after.as_millis()
    );
}
