//! What both credentials are built with besides their identity: how they
//! reach Entra ID (the transport), the clock they read and wait on, and the
//! retry policy; and those settings resolved once, at build time.

use std::sync::Arc;

use crate::{
    Error, TokenProxy,
    clock::{Clock, SystemClock},
    retry::RetryPolicy,
    token_proxy::TokenProxyTransport,
    transport::{ReqwestTransport, SharedTransport},
};

/// The setters both credential builders share, over their `settings:
/// ExchangeSettings` field: one text for one behaviour.
macro_rules! exchange_setters {
    () => {
        /// Sends requests with this `reqwest::Client` (proxy, roots,
        /// timeouts and rustls provider are then the client's).
        pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
            self.settings.transport = Some(std::sync::Arc::new(
                $crate::transport::ReqwestTransport::new(client),
            ));
            self
        }

        /// Sends requests through any [`Transport`](crate::transport::Transport).
        pub fn with_transport(mut self, transport: impl $crate::transport::Transport) -> Self {
            self.settings.transport = Some(std::sync::Arc::new(transport));
            self
        }

        /// Also trusts this root CA (PEM) on top of the platform's roots and
        /// those of `AZURE_WI_EXTRA_CA_FILE`, e.g. a TLS-inspecting proxy's.
        /// Ignored with a custom client or transport.
        pub fn with_extra_root_ca_pem(mut self, pem: impl Into<String>) -> Self {
            self.settings.extra_root_ca_pem = Some(pem.into());
            self
        }

        /// Reads time from and waits between retries on `clock` (tests); a
        /// Key Vault client made from the credential uses it too.
        pub fn with_clock(mut self, clock: std::sync::Arc<dyn $crate::clock::Clock>) -> Self {
            self.settings.clock = clock;
            self
        }

        /// Retries within `policy`.
        pub fn with_retry_policy(mut self, policy: $crate::RetryPolicy) -> Self {
            self.settings.retry = policy;
            self
        }

        /// Identity-binding mode: token requests go to AKS's token proxy
        /// (see [`TokenProxy`](crate::TokenProxy)) instead of Entra ID, as
        /// Microsoft's SDKs do with `enable_azure_proxy`; other requests
        /// (Key Vault) are unchanged. `None` leaves the mode off.
        pub fn with_token_proxy(mut self, proxy: Option<$crate::TokenProxy>) -> Self {
            self.settings.token_proxy = proxy;
            self
        }
    };
}
pub(crate) use exchange_setters;

/// A credential builder's HTTP, clock and retry settings.
#[derive(Debug)]
pub(crate) struct ExchangeSettings {
    /// A caller's own transport or client; `None` builds the default one.
    pub(crate) transport: Option<SharedTransport>,
    /// A root CA the default transport trusts too.
    pub(crate) extra_root_ca_pem: Option<String>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) retry: RetryPolicy,
    /// Token requests go to this token proxy, when set.
    pub(crate) token_proxy: Option<TokenProxy>,
}

impl Default for ExchangeSettings {
    fn default() -> Self {
        Self {
            transport: None,
            extra_root_ca_pem: None,
            clock: Arc::new(SystemClock),
            retry: RetryPolicy::default(),
            token_proxy: None,
        }
    }
}

/// The settings a credential runs with.
pub(crate) struct Exchange {
    /// Key Vault requests, and token requests without a token proxy.
    pub(crate) transport: SharedTransport,
    /// Token requests: the identity binding's token proxy, or `transport`.
    pub(crate) token_transport: SharedTransport,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) retry: RetryPolicy,
}

impl ExchangeSettings {
    /// The caller's transport, or the default one (`HTTPS_PROXY`,
    /// `AZURE_WI_EXTRA_CA_FILE`, the extra root CA).
    ///
    /// # Errors
    ///
    /// Those of [`ReqwestTransport::from_env`](crate::transport::ReqwestTransport::from_env): an unusable extra CA file
    /// or root CA; [`Error::TokenProxy`] for a token proxy CA that cannot be
    /// used.
    pub(crate) fn resolve(self) -> Result<Exchange, Error> {
        let transport: SharedTransport = match (self.transport, &self.extra_root_ca_pem) {
            (Some(transport), _) => transport,
            (None, Some(pem)) => Arc::new(ReqwestTransport::from_env_with_extra_root(pem)?),
            (None, None) => Arc::new(ReqwestTransport::from_env()?),
        };
        let token_transport: SharedTransport = match self.token_proxy {
            Some(proxy) => Arc::new(TokenProxyTransport::new(proxy)?),
            None => Arc::clone(&transport),
        };
        Ok(Exchange {
            transport,
            token_transport,
            clock: self.clock,
            retry: self.retry,
        })
    }
}
