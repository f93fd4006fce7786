//! [`WorkloadIdentityCredential`]: the federated client-assertion exchange
//! with a cache, single flight per key, refresh ahead of expiry and retries.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime},
};

use arc_swap::ArcSwapOption;

use crate::{
    AccessToken, Assertion, ClientRequestId, DiagnosisInput, Error, Scope, TokenProxy,
    TokenRequest, WorkloadIdentityConfig,
    cache::{CacheKey, Entry, TokenCache},
    clock::Clock,
    exchange::{Exchange, ExchangeSettings, exchange_setters},
    flight::{get_or_exchange, serve_or_exchange},
    parse_token_response,
    retry::{
        driver::{self, Failure},
        retry_after,
    },
    transport::{HttpRequest, SharedTransport, Transport},
};

/// The `tracing` target of the event a caller logs (at TRACE, with field
/// `tenant`) when it finds no usable token and queues for its key's token
/// request, so that a burst of cold callers can be seen to cause one request.
pub const SINGLE_FLIGHT_TRACE_TARGET: &str = "azure_wi_auth::single_flight";

/// Gets Microsoft Entra ID access tokens for the pod's workload identity.
///
/// * The token file is read for every exchange, never cached: the kubelet
///   rotates it, and a stale copy is how long-running pods end up with
///   AADSTS700024. A file that does not exist yet is only an error when a
///   token is needed.
/// * Tokens are cached per tenant, scopes and claims. A token past its
///   refresh time (Entra's `refresh_in`, else five minutes before expiry,
///   minus jitter) is still served while one background request replaces
///   it; a failed refresh keeps the valid token and tries again 30 s later.
/// * Any number of concurrent callers on a cold key cause one request, and
///   keys never wait on each other. When that request fails, every caller
///   that waited for it gets the same [`Error`] (a clone, variant and all).
/// * Network errors, 408, 429 and 5xx are retried with exponential backoff
///   and jitter, honouring `Retry-After`, within [`RetryPolicy`](crate::RetryPolicy)'s bounds;
///   AADSTS configuration errors are not, and carry a diagnosis.
/// * The token file is read with tokio's file API, which does the blocking
///   read on tokio's blocking pool rather than on a runtime worker.
/// * By default requests go through [`ReqwestTransport::from_env`](crate::transport::ReqwestTransport::from_env) (proxy
///   and extra root CAs from the environment); a
///   [`SecretClient`](crate::SecretClient) made from the credential shares
///   that transport.
///
/// Cloning is cheap and shares the cache and the transport.
///
/// ```no_run
/// # async fn run() -> Result<(), azure_wi_auth::Error> {
/// use azure_wi_auth::{Scope, WorkloadIdentityCredential};
/// let credential = WorkloadIdentityCredential::from_env()?;
/// let scope: Scope = "https://vault.azure.net/.default".parse()?;
/// let token = credential.get_token(&[scope]).await?;
/// println!("token valid until {:?}", token.expires_on());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WorkloadIdentityCredential {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WorkloadIdentityCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport and the cache are left out: neither says anything a
        // reader needs, and a cache holds tokens.
        f.debug_struct("WorkloadIdentityCredential")
            .field("config", &self.inner.config)
            .field("retry", &self.inner.exchange.retry)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: WorkloadIdentityConfig,
    exchange: Exchange,
    cache: TokenCache,
    /// The cache entry of the last single-scope request without claims
    /// (nearly every caller asks for one scope, always the same): a cache
    /// hit for it builds no key and takes no lock (see
    /// [`WorkloadIdentityCredential::recent_token`]).
    recent: ArcSwapOption<Recent>,
}

/// [`Inner::recent`]: a scope and its cache entry.
#[derive(Debug)]
struct Recent {
    scope: Scope,
    entry: Arc<Entry>,
}

/// Builds a [`WorkloadIdentityCredential`] from a configuration and
/// optional HTTP, clock and retry settings.
#[derive(Debug)]
#[must_use = "call .build() to get the credential"]
pub struct WorkloadIdentityCredentialBuilder {
    config: WorkloadIdentityConfig,
    settings: ExchangeSettings,
}

impl WorkloadIdentityCredentialBuilder {
    exchange_setters!();

    /// The credential.
    ///
    /// # Errors
    ///
    /// Without a custom client or transport: [`Error::ExtraCaFile`] when
    /// `AZURE_WI_EXTRA_CA_FILE` names an unusable file, [`Error::HttpClient`]
    /// when the default client cannot be built (for example an extra root
    /// CA that holds no certificate).
    pub fn build(self) -> Result<WorkloadIdentityCredential, Error> {
        Ok(WorkloadIdentityCredential {
            inner: Arc::new(Inner {
                config: self.config,
                exchange: self.settings.resolve()?,
                cache: TokenCache::default(),
                recent: ArcSwapOption::empty(),
            }),
        })
    }
}

impl WorkloadIdentityCredential {
    /// A credential from the variables the webhook injects (see
    /// [`WorkloadIdentityConfig::from_env`]), sending requests through the
    /// default transport, [`ReqwestTransport::from_env`](crate::transport::ReqwestTransport::from_env).
    ///
    /// It is in identity-binding mode when `AZURE_KUBERNETES_TOKEN_PROXY`
    /// is set: the webhook injects it only into pods that asked for an
    /// identity binding (`azure.workload.identity/use-<suffix>: "true"`),
    /// whose tokens only the proxy accepts. Microsoft's SDKs wait for an
    /// explicit opt-in instead.
    ///
    /// # Errors
    ///
    /// An error naming the missing or invalid variable (the token proxy's
    /// included, see [`TokenProxy::from_env`]), or those of
    /// [`WorkloadIdentityCredentialBuilder::build`].
    pub fn from_env() -> Result<Self, Error> {
        Self::builder(WorkloadIdentityConfig::from_env()?)
            .with_token_proxy(TokenProxy::from_env()?)
            .build()
    }

    /// A builder for `config`.
    pub fn builder(config: WorkloadIdentityConfig) -> WorkloadIdentityCredentialBuilder {
        WorkloadIdentityCredentialBuilder {
            config,
            settings: ExchangeSettings::default(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &WorkloadIdentityConfig {
        &self.inner.config
    }

    /// The transport, for a client that should share its connection pool.
    pub(crate) fn transport(&self) -> &SharedTransport {
        &self.inner.exchange.transport
    }

    /// The clock, for a client that should read time the same way.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.exchange.clock
    }

    /// A token for `scopes` (e.g. `https://vault.azure.net/.default`).
    ///
    /// # Errors
    ///
    /// The error itself, never a wrapper, so that callers can match on it:
    /// the token file's problems ([`Error::TokenFileUnreadable`],
    /// [`Error::TokenFileEmpty`], [`Error::TokenFileNotUtf8`]), Entra's
    /// refusal ([`Error::Entra`], with a diagnosis), an answer that is not
    /// Entra's ([`Error::UnrecognizedErrorResponse`],
    /// [`Error::MalformedTokenResponse`]), the last network error after
    /// retries ([`Error::Transport`]), or [`Error::NoScopes`].
    pub async fn get_token(&self, scopes: &[Scope]) -> Result<AccessToken, Error> {
        self.get_token_with_claims(scopes, None).await
    }

    /// A token for `scopes` carrying a claims request (a CAE challenge or
    /// client capabilities); cached apart from tokens without claims.
    ///
    /// # Errors
    ///
    /// As [`WorkloadIdentityCredential::get_token`].
    pub async fn get_token_with_claims(
        &self,
        scopes: &[Scope],
        claims: Option<&str>,
    ) -> Result<AccessToken, Error> {
        if scopes.is_empty() {
            return Err(Error::NoScopes);
        }
        if let ([scope], None) = (scopes, claims)
            && let Some(token) = self.recent_token(scope)
        {
            return Ok(token);
        }
        // Boxed, so that the future every caller holds is a few words (88
        // bytes for get_token, measured with size_of_val) rather than the
        // whole state of a token request (680 when it was inline): a caller spawned as its own task copies that
        // future into the task and the task's stage over again as it
        // finishes, and with 10,000 such tasks on two cores those copies
        // and the memory they touch were most of the cost of a cached call.
        // Only a call the most recent token does not serve allocates.
        Box::pin(self.get_token_uncached(scopes, claims)).await
    }

    /// The token of the most recent single-scope request without claims,
    /// when `scope` is its scope and the token is served as is now: two
    /// lock-free loads (no reader count for callers on other cores to
    /// fight over) and a clone of the token, whose reference count is the
    /// one shared write.
    fn recent_token(&self, scope: &Scope) -> Option<AccessToken> {
        let recent = self.inner.recent.load();
        let recent = recent.as_deref().filter(|recent| recent.scope == *scope)?;
        recent.entry.serve(self.inner.exchange.clock.now())
    }

    /// [`get_token_with_claims`](Self::get_token_with_claims) past the
    /// most recent token: the cache by key, a token served while it is
    /// refreshed, or a request.
    async fn get_token_uncached(
        &self,
        scopes: &[Scope],
        claims: Option<&str>,
    ) -> Result<AccessToken, Error> {
        let exchange = || -> crate::flight::Exchange {
            let inner = Arc::clone(&self.inner);
            let scopes = scopes.to_vec();
            let claims = claims.map(str::to_owned);
            Box::pin(async move { inner.exchange(&scopes, claims.as_deref()).await })
        };
        let tenant = self.inner.config.tenant_id().as_str();
        let clock = &self.inner.exchange.clock;
        let [scope] = scopes else {
            let key = self.key(scopes, claims);
            return get_or_exchange(&self.inner.cache, &key, clock, exchange).await;
        };
        if claims.is_some() {
            let key = self.key(scopes, claims);
            return get_or_exchange(&self.inner.cache, &key, clock, exchange).await;
        }
        let entry = match self.inner.recent.load_full() {
            Some(recent) if recent.scope == *scope => Arc::clone(&recent.entry),
            _ => {
                let entry = self.inner.cache.entry(&self.key(scopes, None));
                self.inner.recent.store(Some(Arc::new(Recent {
                    scope: scope.clone(),
                    entry: Arc::clone(&entry),
                })));
                entry
            }
        };
        serve_or_exchange(&entry, tenant, clock, exchange).await
    }

    fn key(&self, scopes: &[Scope], claims: Option<&str>) -> CacheKey {
        CacheKey::new(
            self.inner.config.tenant_id(),
            self.inner.config.client_id(),
            None,
            scopes,
            claims,
        )
    }
}

impl Inner {
    /// One exchange, with retries.
    async fn exchange(&self, scopes: &[Scope], claims: Option<&str>) -> Result<AccessToken, Error> {
        driver::run(
            &self.exchange.retry,
            self.exchange.clock.as_ref(),
            "token request",
            || self.attempt(scopes, claims),
        )
        .await
    }

    async fn attempt(
        &self,
        scopes: &[Scope],
        claims: Option<&str>,
    ) -> Result<AccessToken, Failure> {
        let path = self.config.token_file();
        let contents = tokio::fs::read(path)
            .await
            .map_err(|error| Error::TokenFileUnreadable {
                path: path.to_owned(),
                error: Arc::new(error),
            })?;
        let assertion = Assertion::from_token_file_contents(path, &contents)?;
        let request_id = ClientRequestId::from_random_bytes(rand::random());
        let request = TokenRequest::new(&self.config, &assertion, scopes, claims, &request_id)?;
        match send_token_request(
            self.exchange.token_transport.as_ref(),
            self.exchange.clock.as_ref(),
            &request,
        )
        .await
        {
            Ok(token) => Ok(token),
            Err(mut failure) => {
                let now = self.exchange.clock.now();
                let mut input = DiagnosisInput::new(&self.config, &assertion, now);
                if let Some(age) = token_file_age(path, now).await {
                    input = input.with_token_file_age(age);
                }
                failure.error = failure.error.with_diagnosis(&input);
                Err(failure)
            }
        }
    }
}

/// Sends one token request and reads Entra ID's answer; a refusal comes
/// back with the wait Entra asked for, for the retry loop.
pub(crate) async fn send_token_request(
    transport: &dyn Transport,
    clock: &dyn Clock,
    request: &TokenRequest,
) -> Result<AccessToken, Failure> {
    let http = HttpRequest {
        method: "POST",
        url: request.url().clone(),
        headers: request
            .headers()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        body: request.body().as_bytes().to_vec(),
    };
    let response = transport.send(http).await.map_err(|message| {
        let url = request.url().as_str().to_owned();
        Error::Transport { url, message }
    })?;
    let now = clock.now();
    parse_token_response(response.status, &response.body, now)
        .map_err(|error| Failure::new(error, retry_after(&response, now)))
}

/// How long ago the token file was written, read without blocking the
/// runtime (as [`crate::token_file_age`] does with blocking I/O).
async fn token_file_age(path: &Path, now: SystemTime) -> Option<Duration> {
    let modified = tokio::fs::metadata(path).await.ok()?.modified().ok()?;
    now.duration_since(modified).ok()
}
