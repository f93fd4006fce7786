//! End to end: a TLS server on 127.0.0.1 whose certificate is replaced the
//! way the kubelet replaces a Secret volume, seen by a client that trusts
//! only the CA.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use certs::authority::CertificateAuthority;
use certs::reload::{ReloadOutcome, ReloadingCertResolver};
use certs::serving::{IssuedCertificate, ServingCertificate};
use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

const DAY: Duration = Duration::from_secs(86_400);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn issue(ca: &CertificateAuthority, validity: Duration) -> IssuedCertificate {
    ServingCertificate::for_service("webhook", "default")
        .and_then(|request| request.with_dns_name("localhost"))
        .expect("valid names")
        .with_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .with_validity(validity)
        .issue(ca)
        .expect("issue serving certificate")
}

fn leaf(cert_pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("leaf certificate PEM")
}

fn write_generation(dir: &Path, name: &str, pair: &IssuedCertificate) {
    let data = dir.join(name);
    fs::create_dir(&data).expect("create data dir");
    fs::write(data.join("tls.crt"), pair.cert_pem()).expect("write tls.crt");
    fs::write(data.join("tls.key"), pair.key_pem().as_str()).expect("write tls.key");
}

/// The layout of a Secret volume: timestamped data dir, `..data` symlink,
/// and `tls.crt`/`tls.key` symlinks through `..data`.
fn secret_volume(dir: &Path, pair: &IssuedCertificate) {
    write_generation(dir, "..2026_01_01_00_00_00.000000001", pair);
    symlink("..2026_01_01_00_00_00.000000001", dir.join("..data")).expect("..data link");
    symlink("..data/tls.crt", dir.join("tls.crt")).expect("tls.crt link");
    symlink("..data/tls.key", dir.join("tls.key")).expect("tls.key link");
}

/// The kubelet's atomic update of a Secret volume.
fn kubelet_swap(dir: &Path, name: &str, pair: &IssuedCertificate) {
    write_generation(dir, name, pair);
    symlink(name, dir.join("..data_tmp")).expect("..data_tmp link");
    fs::rename(dir.join("..data_tmp"), dir.join("..data")).expect("rename over ..data");
}

/// An echo server: each connection gets back whatever it sends.
async fn serve(listener: TcpListener, acceptor: TlsAcceptor) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return;
            };
            let mut buf = [0_u8; 256];
            while let Ok(n @ 1..) = tls.read(&mut buf).await {
                if tls.write_all(&buf[..n]).await.is_err() || tls.flush().await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn connect(addr: SocketAddr, connector: &TlsConnector) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.expect("tcp connect");
    // The name the API server dials.
    let name = ServerName::try_from("webhook.default.svc").expect("server name");
    connector.connect(name, tcp).await.expect("TLS handshake")
}

fn served_leaf(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    let certs = stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("server sent certificates");
    certs[0].clone().into_owned()
}

async fn echo(stream: &mut TlsStream<TcpStream>, message: &[u8]) {
    stream.write_all(message).await.expect("send");
    stream.flush().await.expect("flush");
    let mut got = vec![0_u8; message.len()];
    stream.read_exact(&mut got).await.expect("receive echo");
    assert_eq!(got, message);
}

#[tokio::test(flavor = "current_thread")]
async fn new_connections_get_the_swapped_certificate_and_old_ones_continue() {
    tokio::time::timeout(Duration::from_secs(30), scenario())
        .await
        .expect("scenario finished in time");
}

/// The test proper, kept apart so the whole of it runs under a time limit.
async fn scenario() {
    let ca = CertificateAuthority::generate("e2e-ca", 400 * DAY).expect("generate CA");
    let (cert_a, cert_b) = (issue(&ca, 100 * DAY), issue(&ca, 200 * DAY));
    let dir = tempfile::tempdir().expect("temp dir");
    secret_volume(dir.path(), &cert_a);

    let resolver = Arc::new(ReloadingCertResolver::load(dir.path()).expect("load resolver"));
    let server_config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let server = tokio::spawn(serve(listener, TlsAcceptor::from(Arc::new(server_config))));

    let mut roots = RootCertStore::empty();
    roots.add(leaf(ca.cert_pem())).expect("trust the CA");
    let mut client_config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // A resumed TLS session skips the certificate and reports the one from
    // the original handshake; force full handshakes so each connection shows
    // what the resolver serves now.
    client_config.resumption = Resumption::disabled();
    let connector = TlsConnector::from(Arc::new(client_config));

    let mut before = connect(addr, &connector).await;
    assert_eq!(served_leaf(&before), leaf(cert_a.cert_pem()));
    echo(&mut before, b"hello before the swap").await;

    kubelet_swap(dir.path(), "..2026_02_01_00_00_00.000000002", &cert_b);
    assert_eq!(
        resolver.reload().expect("reload after swap"),
        ReloadOutcome::Reloaded {
            not_after: cert_b.not_after()
        }
    );

    let mut after = connect(addr, &connector).await;
    assert_eq!(served_leaf(&after), leaf(cert_b.cert_pem()));
    echo(&mut after, b"hello after the swap").await;

    // The connection opened under certificate A is undisturbed.
    echo(&mut before, b"still here after the swap").await;
    assert_eq!(served_leaf(&before), leaf(cert_a.cert_pem()));

    before.shutdown().await.expect("close first connection");
    after.shutdown().await.expect("close second connection");
    server.abort();
}
