//! [`WorkloadIdentityCredential`]: the federated client-assertion exchange
//! with a cache, single flight per key, refresh ahead of expiry and retries.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use crate::{
    AccessToken, Assertion, ClientRequestId, DiagnosisInput, Error, Scope, TokenRequest,
    WorkloadIdentityConfig,
    backoff::{RetryPolicy, jitter, retry_after},
    cache::{CacheKey, Decision, Entry, TokenCache, decide, random_jitter},
    clock::{Clock, SystemClock},
    diagnosis::token_file_age,
    parse_token_response,
    transport::{HttpRequest, ReqwestTransport, SharedTransport, Transport},
};

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
///   keys never wait on each other.
/// * Network errors, 408, 429 and 5xx are retried with exponential backoff
///   and jitter, honouring `Retry-After`, within [`RetryPolicy`]'s bounds;
///   AADSTS configuration errors are not, and carry a diagnosis.
///
/// Cloning is cheap and shares the cache.
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
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: WorkloadIdentityConfig,
    transport: SharedTransport,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    cache: TokenCache,
}

/// Builds a [`WorkloadIdentityCredential`] from a configuration and
/// optional HTTP, clock and retry settings.
#[derive(Debug)]
#[must_use = "call .build() to get the credential"]
pub struct WorkloadIdentityCredentialBuilder {
    config: WorkloadIdentityConfig,
    transport: Option<SharedTransport>,
    extra_root_ca_pem: Option<String>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
}

impl WorkloadIdentityCredentialBuilder {
    /// Sends requests with this `reqwest::Client` (proxy, roots, timeouts
    /// are then the client's).
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.transport = Some(Arc::new(ReqwestTransport::new(client)));
        self
    }

    /// Sends requests through any [`Transport`].
    pub fn with_transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Also trusts this root CA (PEM) on top of the platform's roots, e.g.
    /// a TLS-inspecting proxy's. Ignored with a custom client or transport.
    pub fn with_extra_root_ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.extra_root_ca_pem = Some(pem.into());
        self
    }

    /// Reads time from `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Retries within `policy`.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The credential.
    ///
    /// # Errors
    ///
    /// [`Error::HttpClient`] when the default client cannot be built (for
    /// example an extra root CA that holds no certificate).
    pub fn build(self) -> Result<WorkloadIdentityCredential, Error> {
        let transport = match self.transport {
            Some(transport) => transport,
            None => Arc::new(
                ReqwestTransport::with_extra_root(self.extra_root_ca_pem.as_deref())
                    .map_err(|reason| Error::HttpClient { reason })?,
            ),
        };
        Ok(WorkloadIdentityCredential {
            inner: Arc::new(Inner {
                config: self.config,
                transport,
                clock: self.clock,
                retry: self.retry,
                cache: TokenCache::default(),
            }),
        })
    }
}

impl WorkloadIdentityCredential {
    /// A credential from the variables the webhook injects:
    /// `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`
    /// and `AZURE_AUTHORITY_HOST` (default `https://login.microsoftonline.com/`).
    ///
    /// # Errors
    ///
    /// An error naming the missing or invalid variable.
    pub fn from_env() -> Result<Self, Error> {
        Self::builder(WorkloadIdentityConfig::from_env()?).build()
    }

    /// A builder for `config`.
    pub fn builder(config: WorkloadIdentityConfig) -> WorkloadIdentityCredentialBuilder {
        WorkloadIdentityCredentialBuilder {
            config,
            transport: None,
            extra_root_ca_pem: None,
            clock: Arc::new(SystemClock),
            retry: RetryPolicy::default(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &WorkloadIdentityConfig {
        &self.inner.config
    }

    /// A token for `scopes` (e.g. `https://vault.azure.net/.default`).
    ///
    /// # Errors
    ///
    /// The token file's problems, Entra's refusal (with a diagnosis), or the
    /// last network error after retries.
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
        let mut sorted: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
        sorted.sort();
        let key = CacheKey {
            tenant: self.inner.config.tenant_id().as_str().to_owned(),
            scopes: sorted,
            claims: claims.map(str::to_owned),
        };
        let entry = self.inner.cache.entry(&key);
        let now = self.inner.clock.now();
        let cached = entry.cached();
        match decide(cached.as_ref(), now) {
            Decision::Serve => return Ok(cached.expect("Serve has a token").token),
            Decision::ServeAndRefresh => {
                if !entry.refreshing.swap(true, Ordering::AcqRel) {
                    self.refresh_in_background(
                        Arc::clone(&entry),
                        scopes.to_vec(),
                        claims.map(str::to_owned),
                    );
                }
                return Ok(cached.expect("ServeAndRefresh has a token").token);
            }
            Decision::Fetch => {}
        }
        let seen = entry.generation.load(Ordering::Acquire);
        let mut flight = entry.flight.lock().await;
        let now = self.inner.clock.now();
        if let Some(cached) = entry.cached()
            && decide(Some(&cached), now) != Decision::Fetch
        {
            return Ok(cached.token);
        }
        if entry.generation.load(Ordering::Acquire) != seen
            && let Some(error) = &flight.last_error
        {
            // Someone else's request for this key failed while we waited.
            return Err(Error::Shared(Arc::clone(error)));
        }
        let result = self.inner.exchange(scopes, claims).await;
        entry.generation.fetch_add(1, Ordering::AcqRel);
        match result {
            Ok(token) => {
                entry.store(token.clone(), self.inner.clock.now(), random_jitter());
                flight.last_error = None;
                Ok(token)
            }
            Err(error) => {
                let error = Arc::new(error);
                flight.last_error = Some(Arc::clone(&error));
                Err(Error::Shared(error))
            }
        }
    }

    fn refresh_in_background(&self, entry: Arc<Entry>, scopes: Vec<Scope>, claims: Option<String>) {
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let _flight = entry.flight.lock().await;
            match inner.exchange(&scopes, claims.as_deref()).await {
                Ok(token) => entry.store(token, inner.clock.now(), random_jitter()),
                Err(error) => {
                    tracing::warn!(%error, "background token refresh failed; the current token is still served");
                    entry.postpone_refresh(inner.clock.now());
                }
            }
            entry.generation.fetch_add(1, Ordering::AcqRel);
            entry.refreshing.store(false, Ordering::Release);
        });
    }
}

impl Inner {
    /// One exchange, with retries.
    async fn exchange(&self, scopes: &[Scope], claims: Option<&str>) -> Result<AccessToken, Error> {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (error, wait) = match self.attempt(scopes, claims).await {
                Ok(token) => return Ok(token),
                Err(failure) => failure,
            };
            if !error.retry().is_retryable() {
                return Err(error);
            }
            let delay = self.retry.delay(attempts - 1, jitter(), wait);
            if !self.retry.allows(attempts, started.elapsed(), delay) {
                return Err(error);
            }
            tracing::debug!(%error, attempt = attempts, ?delay, "token request failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        scopes: &[Scope],
        claims: Option<&str>,
    ) -> Result<AccessToken, (Error, Option<Duration>)> {
        let path = self.config.token_file();
        let assertion = Assertion::read_token_file(path).map_err(|e| (e, None))?;
        let request_id = ClientRequestId::from_random_bytes(rand::random());
        let request = TokenRequest::new(&self.config, &assertion, scopes, claims, &request_id)
            .map_err(|e| (e, None))?;
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
        let response = self.transport.send(http).await.map_err(|message| {
            let url = request.url().as_str().to_owned();
            (Error::Transport { url, message }, None)
        })?;
        let now = self.clock.now();
        parse_token_response(response.status, &response.body, now).map_err(|error| {
            let mut input = DiagnosisInput::new(&self.config, &assertion, now);
            if let Some(age) = token_file_age(path, now) {
                input = input.with_token_file_age(age);
            }
            (error.with_diagnosis(&input), retry_after(&response, now))
        })
    }
}
