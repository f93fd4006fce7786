//! The default transport's extra root CAs: an unusable file is an error that
//! names the variable and the file, and a good one is actually trusted.

use std::net::{Ipv4Addr, SocketAddr};

use rustls::pki_types::PrivateKeyDer;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

fn unusable(path: &Path) -> String {
    match ReqwestTransport::build(Some(path), None) {
        Err(error @ Error::ExtraCaFile { .. }) => error.to_string(),
        other => panic!("expected Error::ExtraCaFile, got {other:?}"),
    }
}

#[test]
fn an_unreadable_or_non_pem_extra_ca_file_is_an_error_naming_variable_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let msg = unusable(&missing);
    assert!(
        msg.starts_with(&format!(
            "AZURE_WI_EXTRA_CA_FILE names {}, which cannot be read: ",
            missing.display()
        )),
        "{msg}"
    );

    let not_pem = dir.path().join("ca.der");
    std::fs::write(&not_pem, [0x30, 0x82, 0x01, 0x0a, 0x02]).unwrap();
    let msg = unusable(&not_pem);
    assert!(
        msg.starts_with(&format!(
            "AZURE_WI_EXTRA_CA_FILE names {}, which holds no PEM certificate",
            not_pem.display()
        )),
        "{msg}"
    );

    let key_only = dir.path().join("key.pem");
    let ca =
        certs::CertificateAuthority::generate("test CA", Duration::from_secs(24 * 3600)).unwrap();
    std::fs::write(&key_only, ca.key_pem().as_str()).unwrap();
    assert!(unusable(&key_only).contains("holds no PEM certificate"));
}

#[test]
fn an_extra_root_pem_without_a_certificate_is_refused() {
    let error = ReqwestTransport::build(None, Some("not a certificate")).unwrap_err();
    assert!(
        matches!(&error, Error::HttpClient { reason } if reason.contains("holds no PEM certificate")),
        "{error:?}"
    );
}

/// A TLS server on 127.0.0.1 whose certificate `ca` signed, answering every
/// connection with `200 OK` and body `hello`.
async fn server(ca: &certs::CertificateAuthority) -> SocketAddr {
    let issued = certs::ServingCertificate::for_service("probe", "test")
        .unwrap()
        .with_ip(Ipv4Addr::LOCALHOST.into())
        .with_validity(Duration::from_secs(3600))
        .issue(ca)
        .unwrap();
    let chain = CertificateDer::pem_slice_iter(issued.cert_pem().as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(issued.key_pem().as_str().as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A refused handshake (the control request) ends here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    let n = tls.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                tls.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
                )
                .await
                .unwrap();
                tls.shutdown().await.unwrap();
            });
        }
    });
    addr
}

fn get(addr: SocketAddr) -> HttpRequest {
    HttpRequest {
        method: "GET",
        url: format!("https://{addr}/").parse().unwrap(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

#[tokio::test]
async fn the_extra_ca_file_is_trusted_on_top_of_the_platform_roots() {
    let ca =
        certs::CertificateAuthority::generate("test CA", Duration::from_secs(24 * 3600)).unwrap();
    let addr = server(&ca).await;

    // Control: the platform's roots alone do not know this CA.
    let error = ReqwestTransport::build(None, None)
        .unwrap()
        .send(get(addr))
        .await
        .unwrap_err();
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ca.pem");
    std::fs::write(&file, ca.cert_pem()).unwrap();
    let response = ReqwestTransport::build(Some(&file), None)
        .unwrap()
        .send(get(addr))
        .await
        .unwrap();
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"hello"[..])
    );

    // The same roots given as PEM text (the credential builder's option).
    let response = ReqwestTransport::build(None, Some(ca.cert_pem()))
        .unwrap()
        .send(get(addr))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
}
