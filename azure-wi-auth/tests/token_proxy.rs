//! Identity-binding mode over real TLS on loopback: the token request goes
//! to the token proxy, not to Entra, presenting the SNI name, trusting only
//! the proxy's CA, re-reading the CA file when it changes.
#![allow(clippy::unwrap_used)]

mod support;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::Path, http::HeaderMap, routing::post};
use azure_wi_auth::{
    Error, Scope, TokenProxy, TokenProxyCa, WorkloadIdentityConfig, WorkloadIdentityCredential,
};
use certs::{CertificateAuthority, ServingCertificate};
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};

const SNI: &str = "ib.aks.example";

/// What the proxy saw of each request: the SNI name, the path and the
/// `Host` header.
type Seen = Arc<Mutex<Vec<(Option<String>, String, String)>>>;

/// Serves the proxy's current certificate and notes the SNI of each
/// handshake.
#[derive(Debug)]
struct Recorder {
    key: Mutex<Arc<CertifiedKey>>,
    sni: Arc<Mutex<Option<String>>>,
}

impl ResolvesServerCert for Recorder {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        *self.sni.lock().unwrap() = hello.server_name().map(str::to_owned);
        Some(Arc::clone(&self.key.lock().unwrap()))
    }
}

fn certified(ca: &CertificateAuthority) -> Arc<CertifiedKey> {
    let issued = ServingCertificate::for_service("token-proxy", "kube-system")
        .unwrap()
        .with_dns_name(SNI)
        .unwrap()
        .issue(ca)
        .unwrap();
    let chain = CertificateDer::pem_slice_iter(issued.cert_pem().as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(issued.key_pem().as_str().as_bytes()).unwrap();
    let provider = rustls::crypto::ring::default_provider();
    Arc::new(CertifiedKey::from_der(chain, key, &provider).unwrap())
}

/// A token proxy on loopback with a certificate from `ca` for [`SNI`]
/// only; its port, what it saw, and its certificate resolver.
async fn proxy(ca: &CertificateAuthority) -> (u16, Seen, Arc<Recorder>) {
    let resolver = Arc::new(Recorder {
        key: Mutex::new(certified(ca)),
        sni: Arc::default(),
    });
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_cert_resolver(resolver.clone());
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let sni = Arc::clone(&resolver.sni);
    let (seen_by_router, sni_by_router) = (Arc::clone(&seen), Arc::clone(&sni));
    let router = Router::new().route(
        "/base/{tenant}/oauth2/v2.0/token",
        post(move |Path(tenant): Path<String>, headers: HeaderMap| {
            let (seen, sni) = (Arc::clone(&seen_by_router), Arc::clone(&sni_by_router));
            async move {
                let host = headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let server_name = sni.lock().unwrap().clone();
                let path = format!("/base/{tenant}/oauth2/v2.0/token");
                seen.lock().unwrap().push((server_name, path, host));
                let n = seen.lock().unwrap().len();
                (
                    [("content-type", "application/json")],
                    support::token_body(u32::try_from(n).unwrap()),
                )
            }
        }),
    );
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                        .await;
                }
            });
        }
    });
    (port, seen, resolver)
}

fn config(dir: &std::path::Path) -> WorkloadIdentityConfig {
    let token_file = dir.join("azure-identity-token");
    std::fs::write(&token_file, support::ASSERTION).unwrap();
    WorkloadIdentityConfig::builder()
        .client_id("3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34")
        .tenant_id(support::TENANT)
        // Nothing listens here: a request that went to Entra would fail.
        .authority_host("https://127.0.0.1:9/")
        .token_file(token_file)
        .build()
        .unwrap()
}

fn scope(s: &str) -> [Scope; 1] {
    [s.parse().unwrap()]
}

#[tokio::test]
async fn the_exchange_goes_to_the_token_proxy_with_its_name_and_ca_alone() {
    let ca =
        CertificateAuthority::generate("identity-binding-ca", Duration::from_secs(2 * 365 * 86400))
            .unwrap();
    let (port, seen, resolver) = proxy(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.crt");
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();
    let token_proxy = TokenProxy::new(&format!("https://127.0.0.1:{port}/base"))
        .unwrap()
        .with_sni(SNI)
        .with_ca(TokenProxyCa::File(ca_file.clone()));
    let credential = WorkloadIdentityCredential::builder(config(dir.path()))
        .with_token_proxy(Some(token_proxy.clone()))
        .build()
        .unwrap();

    let token = credential
        .get_token(&scope("https://vault.azure.net/.default"))
        .await
        .unwrap();
    assert_eq!(token.secret(), "token-1");
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        [(
            Some(SNI.to_owned()),
            format!("/base/{}/oauth2/v2.0/token", support::TENANT),
            format!("127.0.0.1:{port}")
        )]
    );

    // The CA rotates: the proxy serves a certificate from a new CA, and the
    // file is rewritten. The next exchange trusts the new CA, and only it.
    let rotated =
        CertificateAuthority::generate("rotated-ca", Duration::from_secs(2 * 365 * 86400)).unwrap();
    *resolver.key.lock().unwrap() = certified(&rotated);
    tokio::time::sleep(Duration::from_millis(20)).await;
    std::fs::write(&ca_file, rotated.cert_pem()).unwrap();
    let token = credential
        .get_token(&scope("https://storage.azure.com/.default"))
        .await
        .unwrap();
    assert_eq!(token.secret(), "token-2");

    // A credential still trusting the old CA refuses the proxy.
    let old_ca = dir.path().join("old.crt");
    std::fs::write(&old_ca, ca.cert_pem()).unwrap();
    let stale = WorkloadIdentityCredential::builder(config(dir.path()))
        .with_token_proxy(Some(token_proxy.with_ca(TokenProxyCa::File(old_ca))))
        .with_retry_policy(azure_wi_auth::RetryPolicy {
            max_attempts: 1,
            ..azure_wi_auth::RetryPolicy::default()
        })
        .build()
        .unwrap();
    let error = stale
        .get_token(&scope("https://vault.azure.net/.default"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error}");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_name_the_certificate_does_not_carry_is_refused() {
    let ca =
        CertificateAuthority::generate("identity-binding-ca", Duration::from_secs(2 * 365 * 86400))
            .unwrap();
    let (port, seen, _) = proxy(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let credential = WorkloadIdentityCredential::builder(config(dir.path()))
        .with_token_proxy(Some(
            TokenProxy::new(&format!("https://127.0.0.1:{port}/base"))
                .unwrap()
                .with_sni("other.aks.example")
                .with_ca(TokenProxyCa::Data(ca.cert_pem().to_owned())),
        ))
        .with_retry_policy(azure_wi_auth::RetryPolicy {
            max_attempts: 1,
            ..azure_wi_auth::RetryPolicy::default()
        })
        .build()
        .unwrap();
    let error = credential
        .get_token(&scope("https://vault.azure.net/.default"))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("certificate"),
        "names the certificate problem: {error}"
    );
    assert!(seen.lock().unwrap().is_empty());
}
