//! Identity-binding mode: the token exchange sent to AKS's token proxy
//! instead of Entra ID, as Microsoft's SDKs do when asked to
//! (`WorkloadIdentityCredential(enable_azure_proxy=True)` in Python,
//! `EnableAzureProxy` in Go).
//!
//! The webhook gives a pod that asked for an identity binding
//! `AZURE_KUBERNETES_TOKEN_PROXY` (the proxy's `https` URL),
//! `AZURE_KUBERNETES_SNI_NAME` (the TLS name its certificate carries) and
//! the proxy's CA as a file (`AZURE_KUBERNETES_CA_FILE`) or inline
//! (`AZURE_KUBERNETES_CA_DATA`). The rules are the SDKs' (azure-identity
//! 1.27, `workload_identity.py` and `token_binding_transport_mixin.py`):
//!
//! - the URL is `https`, with no user info, query or fragment;
//! - CA file and CA data exclude each other; SNI or a CA without the URL
//!   is an error;
//! - a request keeps its path and query and goes to the proxy's origin,
//!   under the proxy URL's path;
//! - the connection presents the SNI name (the URL's host when there is
//!   none) and trusts the CA alone (the platform's roots when there is
//!   none);
//! - the CA file is read when the credential is built (an empty or
//!   unreadable file is then an error) and again whenever its modification
//!   time changes; an empty or unreadable file later keeps the CA last read
//!   (a rotation in progress).
//!
//! One difference, on purpose: `HTTPS_PROXY` is not used for the token
//! proxy. It is inside the cluster, and an egress proxy either cannot reach
//! it or would see the TLS name of a host it cannot resolve (Microsoft's
//! Python SDK sends it there unless `NO_PROXY` covers the proxy's host).

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    time::SystemTime,
};

use azure_wi_core::names::{
    KUBERNETES_CA_DATA_ENV, KUBERNETES_CA_FILE_ENV, KUBERNETES_SNI_NAME_ENV,
    KUBERNETES_TOKEN_PROXY_ENV,
};
use futures::future::BoxFuture;
use url::Url;

use crate::{
    Error,
    transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport, certificates},
};

/// Where the token proxy's CA comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProxyCa {
    /// The platform's roots.
    Platform,
    /// A PEM file, re-read when it changes (`AZURE_KUBERNETES_CA_FILE`).
    File(PathBuf),
    /// PEM text (`AZURE_KUBERNETES_CA_DATA`).
    Data(String),
}

/// The token proxy of an identity binding: its URL, TLS name and CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenProxy {
    url: Url,
    sni: Option<String>,
    ca: TokenProxyCa,
}

impl TokenProxy {
    /// A token proxy at `url`, checked by the SDKs' rules.
    ///
    /// # Errors
    ///
    /// [`Error::TokenProxy`] naming `AZURE_KUBERNETES_TOKEN_PROXY` when the
    /// URL is not `https` or carries user info, a query or a fragment.
    pub fn new(url: &str) -> Result<Self, Error> {
        let invalid = |problem: String| Error::TokenProxy {
            variable: KUBERNETES_TOKEN_PROXY_ENV,
            problem,
        };
        let parsed = Url::parse(url)
            .map_err(|e| invalid(format!("endpoint URL ({url}) is not a URL: {e}")))?;
        if parsed.scheme() != "https" {
            return Err(invalid(format!(
                "endpoint URL ({url}) must use the 'https' scheme, not '{}'",
                parsed.scheme()
            )));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(format!(
                "endpoint URL ({url}) must not contain username or password"
            )));
        }
        if parsed.fragment().is_some() {
            return Err(invalid(format!(
                "endpoint URL ({url}) must not contain a fragment"
            )));
        }
        if parsed.query().is_some() {
            return Err(invalid(format!(
                "endpoint URL ({url}) must not contain query parameters"
            )));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid(format!("endpoint URL ({url}) has no host")));
        }
        Ok(Self {
            url: parsed,
            sni: None,
            ca: TokenProxyCa::Platform,
        })
    }

    /// Presents `name` as the TLS server name and checks the proxy's
    /// certificate against it; an empty name counts as none.
    #[must_use]
    pub fn with_sni(mut self, name: impl Into<String>) -> Self {
        self.sni = Some(name.into()).filter(|n| !n.is_empty());
        self
    }

    /// Trusts `ca` alone for the proxy.
    #[must_use]
    pub fn with_ca(mut self, ca: TokenProxyCa) -> Self {
        self.ca = ca;
        self
    }

    /// The token proxy the environment describes, `None` without
    /// `AZURE_KUBERNETES_TOKEN_PROXY` (empty values count as unset).
    ///
    /// # Errors
    ///
    /// [`Error::TokenProxy`] naming the variable at fault: both CA
    /// variables set, SNI or a CA without the proxy URL, or an invalid URL.
    pub fn from_env() -> Result<Option<Self>, Error> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables with `lookup`.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let sni = get(KUBERNETES_SNI_NAME_ENV);
        let ca_file = get(KUBERNETES_CA_FILE_ENV);
        let ca_data = get(KUBERNETES_CA_DATA_ENV);
        let Some(url) = get(KUBERNETES_TOKEN_PROXY_ENV) else {
            let stray = [
                (KUBERNETES_SNI_NAME_ENV, sni.is_some()),
                (KUBERNETES_CA_FILE_ENV, ca_file.is_some()),
                (KUBERNETES_CA_DATA_ENV, ca_data.is_some()),
            ];
            return match stray.iter().find(|(_, set)| *set) {
                Some((variable, _)) => Err(Error::TokenProxy {
                    variable,
                    problem: format!(
                        "{KUBERNETES_TOKEN_PROXY_ENV} is not set but other custom \
                         endpoint-related environment variables are present"
                    ),
                }),
                None => Ok(None),
            };
        };
        let ca = match (ca_file, ca_data) {
            (Some(_), Some(_)) => {
                return Err(Error::TokenProxy {
                    variable: KUBERNETES_CA_DATA_ENV,
                    problem: format!(
                        "both {KUBERNETES_CA_FILE_ENV} and {KUBERNETES_CA_DATA_ENV} are set; \
                         only one should be set"
                    ),
                });
            }
            (Some(file), None) => TokenProxyCa::File(file.into()),
            (None, Some(data)) => TokenProxyCa::Data(data),
            (None, None) => TokenProxyCa::Platform,
        };
        let proxy = Self::new(&url)?.with_ca(ca);
        Ok(Some(match sni {
            Some(name) => proxy.with_sni(name),
            None => proxy,
        }))
    }

    /// The proxy's URL.
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The TLS server name, when it is not the URL's host.
    #[must_use]
    pub fn sni(&self) -> Option<&str> {
        self.sni.as_deref()
    }

    /// Where the CA comes from.
    #[must_use]
    pub fn ca(&self) -> &TokenProxyCa {
        &self.ca
    }

    /// `request`'s URL as sent to the proxy: the proxy's origin, the proxy
    /// URL's path followed by the request's path, the request's query. A
    /// URL already under the proxy (a retried request) is kept.
    #[must_use]
    pub fn rewrite(&self, request: &Url) -> Url {
        let proxy_path = self.url.path().trim_end_matches('/');
        let same_origin = request.scheme() == self.url.scheme()
            && request.host_str() == self.url.host_str()
            && request.port_or_known_default() == self.url.port_or_known_default();
        let under_proxy = request.path() == proxy_path
            || request
                .path()
                .strip_prefix(proxy_path)
                .is_some_and(|rest| rest.starts_with('/'));
        if same_origin && under_proxy {
            return request.clone();
        }
        let mut rewritten = self.url.clone();
        rewritten.set_path(&format!(
            "{proxy_path}/{}",
            request.path().trim_start_matches('/')
        ));
        rewritten.set_query(request.query());
        rewritten
    }
}

/// A [`Transport`] that sends every request to the token proxy: what the
/// credential's exchange goes through in identity-binding mode.
pub(crate) struct TokenProxyTransport {
    proxy: TokenProxy,
    state: Mutex<ProxyClient>,
}

impl std::fmt::Debug for TokenProxyTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProxyTransport")
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// The client for the CA last read, and what it was read from.
struct ProxyClient {
    client: Option<Arc<ReqwestTransport>>,
    ca_pem: Option<String>,
    ca_modified: Option<SystemTime>,
}

impl TokenProxyTransport {
    /// The transport for `proxy`; a CA file is read now.
    ///
    /// # Errors
    ///
    /// [`Error::TokenProxy`] naming `AZURE_KUBERNETES_CA_FILE` when the file
    /// cannot be read, is empty or holds no certificate, or naming
    /// `AZURE_KUBERNETES_CA_DATA` when the data holds no certificate.
    pub(crate) fn new(proxy: TokenProxy) -> Result<Self, Error> {
        let (ca_pem, ca_modified) = match &proxy.ca {
            TokenProxyCa::Platform => (None, None),
            TokenProxyCa::Data(pem) => {
                certificates(pem.as_bytes()).map_err(|problem| Error::TokenProxy {
                    variable: KUBERNETES_CA_DATA_ENV,
                    problem: format!("the CA data {problem}"),
                })?;
                (Some(pem.clone()), None)
            }
            TokenProxyCa::File(path) => {
                let (pem, modified) = read_ca_file(path).map_err(|problem| Error::TokenProxy {
                    variable: KUBERNETES_CA_FILE_ENV,
                    problem,
                })?;
                (Some(pem), modified)
            }
        };
        Ok(Self {
            proxy,
            state: Mutex::new(ProxyClient {
                client: None,
                ca_pem,
                ca_modified,
            }),
        })
    }

    /// The client to send with now: rebuilt when the CA file changed. The
    /// lock is never held across the build, which may resolve the proxy's
    /// host.
    async fn client(&self) -> Result<Arc<ReqwestTransport>, String> {
        let ca_pem = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let TokenProxyCa::File(path) = &self.proxy.ca {
                let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
                if modified != state.ca_modified {
                    // Kept on failure: the file may be mid-rotation.
                    if let Ok((pem, modified)) = read_ca_file(path) {
                        if state.ca_pem.as_deref() != Some(pem.as_str()) {
                            state.client = None;
                        }
                        state.ca_pem = Some(pem);
                        state.ca_modified = modified;
                    }
                }
            }
            if let Some(client) = &state.client {
                return Ok(Arc::clone(client));
            }
            state.ca_pem.clone()
        };
        let client = Arc::new(self.build(ca_pem.as_deref()).await?);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.ca_pem == ca_pem {
            state.client = Some(Arc::clone(&client));
        }
        Ok(client)
    }

    /// A client presenting the SNI name, reaching it at the proxy's
    /// address, trusting `ca_pem` alone (or the platform's roots).
    async fn build(&self, ca_pem: Option<&str>) -> Result<ReqwestTransport, String> {
        let mut builder = reqwest::Client::builder().no_proxy();
        if let Some(sni) = &self.proxy.sni {
            let host = self.proxy.url.host_str().unwrap_or_default();
            let port = self.proxy.url.port_or_known_default().unwrap_or(443);
            let addresses: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
                    .await
                    .map_err(|e| format!("resolving the token proxy's host {host}: {e}"))?
                    .collect();
            builder = builder.resolve_to_addrs(sni, &addresses);
        }
        ReqwestTransport::build_with(builder, ca_pem).map_err(|e| e.to_string())
    }
}

/// The CA file's text and modification time; an empty file, or one with no
/// certificate, is refused.
fn read_ca_file(path: &Path) -> Result<(String, Option<SystemTime>), String> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| format!("failed to read CA file ({}): {e}", path.display()))?;
    if pem.is_empty() {
        return Err(format!(
            "CA file ({}) is empty; cannot establish a secure connection",
            path.display()
        ));
    }
    certificates(pem.as_bytes())
        .map_err(|problem| format!("CA file ({}) {problem}", path.display()))?;
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    Ok((pem, modified))
}

impl Transport for TokenProxyTransport {
    fn send(&self, mut request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>> {
        Box::pin(async move {
            let client = self.client().await?;
            let mut url = self.proxy.rewrite(&request.url);
            if let Some(sni) = &self.proxy.sni {
                // Connect by the SNI name (resolved to the proxy's address),
                // and tell the proxy which host was asked for.
                let authority = match self.proxy.url.port() {
                    Some(port) => {
                        format!("{}:{port}", self.proxy.url.host_str().unwrap_or_default())
                    }
                    None => self.proxy.url.host_str().unwrap_or_default().to_owned(),
                };
                url.set_host(Some(sni))
                    .map_err(|e| format!("the SNI name {sni:?} is not a host name: {e}"))?;
                request.headers.push(("Host".to_owned(), authority));
            }
            request.url = url;
            client.send(request).await
        })
    }
}

#[cfg(test)]
mod tests;
