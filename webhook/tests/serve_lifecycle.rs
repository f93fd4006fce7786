//! Certificate rotation and SIGTERM while a load is running: no request is
//! lost.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use support::{Webhook, client_trusting, write_service_accounts};

/// Lays out `dir` as the kubelet lays out a Secret volume, with the pair in
/// a timestamped folder behind `..data`.
fn publish(dir: &Path, stamp: &str, cert: &str, key: &str) {
    let folder = dir.join(stamp);
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("tls.crt"), cert).unwrap();
    std::fs::write(folder.join("tls.key"), key).unwrap();
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink(stamp, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    for file in ["tls.crt", "tls.key"] {
        let link = dir.join(file);
        if link.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(format!("..data/{file}"), link).unwrap();
        }
    }
}

fn serving_pair(ca: &certs::CertificateAuthority) -> (String, String, Vec<u8>) {
    let issued = certs::ServingCertificate::for_service("webhook", "test")
        .unwrap()
        .with_ip("127.0.0.1".parse().unwrap())
        .issue(ca)
        .unwrap();
    use rustls::pki_types::{CertificateDer, pem::PemObject as _};
    let der = CertificateDer::pem_slice_iter(issued.cert_pem().as_bytes())
        .next()
        .unwrap()
        .unwrap();
    (
        issued.cert_pem().to_owned(),
        issued.key_pem().as_str().to_owned(),
        der.to_vec(),
    )
}

/// Every request of the load succeeded; returns how many there were.
fn no_request_lost((ok, failed): (usize, Vec<String>)) -> usize {
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}",
        failed.len(),
        ok + failed.len(),
        &failed[..failed.len().min(3)]
    );
    ok
}

/// The leaf certificate a new connection is given.
async fn presented_leaf(port: u16, ca: &str) -> Vec<u8> {
    let config = support::tls_trusting(ca, rustls::ALL_VERSIONS);
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_rotation_under_load_loses_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let certs_dir = dir.path().join("certs");
    std::fs::create_dir(&certs_dir).unwrap();
    let ca = certs::CertificateAuthority::generate("test-ca", Duration::from_secs(86_400 * 800))
        .unwrap();
    let (cert_a, key_a, leaf_a) = serving_pair(&ca);
    let (cert_b, key_b, leaf_b) = serving_pair(&ca);
    publish(
        &certs_dir,
        "..2026_11_23_00_00_00.000000001",
        &cert_a,
        &key_a,
    );

    let webhook = Webhook::start(
        &certs_dir,
        &write_service_accounts(dir.path()),
        &["--cert-reload-interval", "100ms"],
    );
    webhook.wait_ready().await;
    assert_eq!(
        presented_leaf(webhook.webhook.port(), ca.cert_pem()).await,
        leaf_a
    );

    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&done);
    let load = tokio::spawn(support::load(
        client_trusting(ca.cert_pem()),
        webhook.url(),
        6,
        Duration::from_secs(20),
        move || stop.load(Ordering::SeqCst),
    ));
    tokio::time::sleep(Duration::from_millis(700)).await;
    publish(
        &certs_dir,
        "..2026_11_23_00_10_00.000000002",
        &cert_b,
        &key_b,
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    while presented_leaf(webhook.webhook.port(), ca.cert_pem()).await != leaf_b {
        assert!(
            Instant::now() < deadline,
            "new connections never got the new certificate"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    done.store(true, Ordering::SeqCst);
    let ok = no_request_lost(load.await.unwrap());
    assert!(ok > 100, "the load was too light to mean anything: {ok}");
    eprintln!("rotation under load: {ok} admissions, none failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_request_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let ca = support::generate_certs(dir.path());
    let mut webhook = Webhook::start(
        dir.path(),
        &write_service_accounts(dir.path()),
        &["--shutdown-delay", "2s"],
    );
    webhook.wait_ready().await;
    let client = client_trusting(&ca);

    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&done);
    let load = tokio::spawn(support::load(
        client.clone(),
        webhook.url(),
        6,
        Duration::from_secs(20),
        move || stop.load(Ordering::SeqCst),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sigterm = Instant::now();
    webhook.terminate();

    // Unready at once, so the API server's endpoints drop this replica...
    tokio::time::sleep(Duration::from_millis(300)).await;
    let readyz = reqwest::get(format!("http://{}/readyz", webhook.health))
        .await
        .unwrap();
    assert_eq!(readyz.status(), 503);
    assert_eq!(readyz.text().await.unwrap(), "not ready: shutting down");

    // ...while it keeps serving: the load goes on until the endpoints have
    // caught up, one second after SIGTERM.
    tokio::time::sleep(Duration::from_millis(700)).await;
    done.store(true, Ordering::SeqCst);

    // A request still uploading its body when the listeners close (2 s
    // after SIGTERM) is finished, not dropped.
    let body = support::review("admission.k8s.io/v1", "slow")
        .to_string()
        .into_bytes();
    let (first, rest) = body.split_at(body.len() / 2);
    let (first, rest) = (first.to_vec(), rest.to_vec());
    let chunks = futures::stream::iter([first, rest]).then(|chunk| async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        Ok::<_, std::io::Error>(chunk)
    });
    use futures::StreamExt as _;
    let slow = client
        .post(webhook.url())
        .header("content-type", "application/json")
        .header("content-length", body.len().to_string())
        .body(reqwest::Body::wrap_stream(chunks))
        .send();
    let slow = tokio::spawn(slow);

    let ok = no_request_lost(load.await.unwrap());
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.status(), 200);
    assert!(
        sigterm.elapsed() > Duration::from_secs(2),
        "the slow request ended before the listeners closed"
    );

    assert_eq!(webhook.wait_exit(Duration::from_secs(15)), Some(0));
    let logs = webhook.logs.lock().unwrap().join("\n");
    assert!(logs.contains("shut down cleanly"), "{logs}");
    eprintln!("SIGTERM under load: {ok} admissions, none failed");
}
