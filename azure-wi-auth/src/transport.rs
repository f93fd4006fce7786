//! The HTTP seam: requests and responses as plain values, sent by a
//! [`Transport`]. The credential and the Key Vault client build requests and
//! read responses with pure functions; only this trait touches the network,
//! so tests can put anything behind it.

use std::{fmt, sync::Arc};

use futures::future::BoxFuture;

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

/// A [`Transport`] on a `reqwest::Client` (rustls).
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// Wraps a client the caller configured (proxy, roots, name overrides).
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }

    /// A client with rustls on the ring provider, the platform's roots plus
    /// `extra_root_ca_pem` if given, 10 s to connect and 30 s per request.
    ///
    /// # Errors
    ///
    /// A description if the PEM holds no certificate or the client cannot
    /// be built.
    pub fn with_extra_root(extra_root_ca_pem: Option<&str>) -> Result<Self, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(30));
        if let Some(pem) = extra_root_ca_pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| format!("extra root CA: {e}"))?;
            if roots.is_empty() {
                return Err("extra root CA: the PEM holds no certificate".to_owned());
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        builder
            .build()
            .map(Self::new)
            .map_err(|e| format!("building the HTTP client: {e}"))
    }
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
