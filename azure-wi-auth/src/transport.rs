//! The HTTP seam: requests and responses as plain values, sent by a
//! [`Transport`]. The credential and the Key Vault client build requests and
//! read responses with pure functions; only this trait touches the network,
//! so tests can put anything behind it.
//!
//! # The default transport
//!
//! [`ReqwestTransport::from_env`] is what the credential uses unless told
//! otherwise, and the [`SecretClient`](crate::SecretClient) reuses the
//! credential's: one connection pool for Entra ID and Key Vault. It takes
//! its settings from the environment, as a pod's other Azure clients do:
//!
//! * `HTTPS_PROXY`, `NO_PROXY` (read by reqwest);
//! * `AZURE_WI_EXTRA_CA_FILE` ([`EXTRA_CA_FILE_ENV`]): a PEM file of root CAs
//!   trusted on top of the platform's, for a TLS-inspecting proxy or the
//!   emulator. An unreadable file, or one without a certificate, is an
//!   [`Error::ExtraCaFile`], never silently skipped.
//!
//! TLS is rustls with the *ring* provider, handed to the client config
//! explicitly: this crate never installs a process-wide rustls provider, so
//! it neither needs one installed by the application nor changes the one
//! the application chose.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use azure_wi_core::names::EXTRA_CA_FILE_ENV;
use futures::future::BoxFuture;
use rustls::pki_types::{CertificateDer, pem::PemObject as _};

use crate::Error;

/// An HTTP request.
#[derive(Clone)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PUT`...
    pub method: &'static str,
    /// Absolute URL.
    pub url: url::Url,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes (may hold a secret: never logged).
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers may carry a bearer token and the body an assertion.
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// An HTTP response.
#[derive(Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Sends HTTP requests. Errors are network-level failures (connect, TLS,
/// time-out), described in words; any HTTP answer is a response.
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    /// Sends `request`.
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>>;
}

/// Time allowed to open a connection (TCP and TLS).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one request, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A [`Transport`] on a `reqwest::Client` (rustls).
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// Wraps a client the caller configured (proxy, roots, name overrides);
    /// its TLS settings, and its rustls provider, are then the caller's.
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }

    /// The default transport (see the [module documentation](self)): the
    /// platform's roots plus those of the file `AZURE_WI_EXTRA_CA_FILE`
    /// names, if set, rustls on *ring*, `HTTPS_PROXY` honoured, 10 s to
    /// connect and 30 s per request.
    ///
    /// # Errors
    ///
    /// [`Error::ExtraCaFile`] for an unusable `AZURE_WI_EXTRA_CA_FILE`;
    /// [`Error::HttpClient`] if the client cannot be built.
    pub fn from_env() -> Result<Self, Error> {
        Self::build(extra_ca_file_from_env().as_deref(), None)
    }

    /// As [`from_env`](Self::from_env), also trusting the root CAs in
    /// `extra_root_ca_pem` (a PEM bundle).
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env), and [`Error::HttpClient`] if the
    /// PEM holds no certificate.
    pub fn from_env_with_extra_root(extra_root_ca_pem: &str) -> Result<Self, Error> {
        Self::build(extra_ca_file_from_env().as_deref(), Some(extra_root_ca_pem))
    }

    /// The default client, trusting the certificates of `extra_ca_file` and
    /// `extra_pem` besides the platform's roots.
    pub(crate) fn build(
        extra_ca_file: Option<&Path>,
        extra_pem: Option<&str>,
    ) -> Result<Self, Error> {
        let mut roots = Vec::new();
        if let Some(path) = extra_ca_file {
            let unusable = |problem: String| Error::ExtraCaFile {
                path: path.to_owned(),
                problem,
            };
            let pem = std::fs::read(path).map_err(|e| unusable(format!("cannot be read: {e}")))?;
            roots.extend(certificates(&pem).map_err(unusable)?);
        }
        if let Some(pem) = extra_pem {
            roots.extend(
                certificates(pem.as_bytes()).map_err(|problem| Error::HttpClient {
                    reason: format!("the extra root CA {problem}"),
                })?,
            );
        }
        Self::finish(reqwest::Client::builder(), platform_tls(roots)?)
    }

    /// `builder` (its proxy and name settings) with this module's timeouts,
    /// trusting the certificates of `only_roots_pem` alone, or the
    /// platform's roots without it.
    pub(crate) fn build_with(
        builder: reqwest::ClientBuilder,
        only_roots_pem: Option<&str>,
    ) -> Result<Self, Error> {
        let Some(pem) = only_roots_pem else {
            return Self::finish(builder, platform_tls(Vec::new())?);
        };
        let client_error = |reason: String| Error::HttpClient { reason };
        let mut roots = rustls::RootCertStore::empty();
        for certificate in certificates(pem.as_bytes()).map_err(client_error)? {
            roots
                .add(certificate)
                .map_err(|e| client_error(format!("the CA certificate: {e}")))?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| client_error(format!("TLS versions: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Self::finish(builder, tls)
    }

    fn finish(builder: reqwest::ClientBuilder, tls: rustls::ClientConfig) -> Result<Self, Error> {
        builder
            .tls_backend_preconfigured(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map(Self::new)
            .map_err(|e| Error::HttpClient {
                reason: format!("building the HTTP client: {}", describe(&e)),
            })
    }
}

/// rustls on *ring* trusting the platform's roots and `extra_roots`. The
/// provider goes into this config only; nothing is installed process-wide.
fn platform_tls(extra_roots: Vec<CertificateDer<'static>>) -> Result<rustls::ClientConfig, Error> {
    let client_error = |reason: String| Error::HttpClient { reason };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = if extra_roots.is_empty() {
        rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, Arc::clone(&provider))
    }
    .map_err(|e| client_error(format!("loading the platform's root certificates: {e}")))?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| client_error(format!("TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// The file `AZURE_WI_EXTRA_CA_FILE` names; an empty value counts as unset.
fn extra_ca_file_from_env() -> Option<PathBuf> {
    std::env::var_os(EXTRA_CA_FILE_ENV)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// Every certificate of a PEM bundle; other PEM sections (a key) are
/// skipped, but there must be at least one certificate.
pub(crate) fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not valid PEM: {e}"))?;
    if certificates.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned());
    }
    Ok(certificates)
}

impl Transport for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>> {
        Box::pin(async move {
            let method = reqwest::Method::from_bytes(request.method.as_bytes())
                .map_err(|e| e.to_string())?;
            let mut builder = self.client.request(method, request.url.clone());
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            let response = builder
                .body(request.body)
                .send()
                .await
                .map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        v.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            let body = response.bytes().await.map_err(|e| describe(&e))?.to_vec();
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    }
}

/// reqwest's error with its causes, which hold the useful part (TLS, DNS).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A shared transport.
pub type SharedTransport = Arc<dyn Transport>;

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
