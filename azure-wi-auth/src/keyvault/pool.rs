//! [`WorkloadVaults`]: Key Vault clients for many workloads from one
//! process, the shape a node daemon (the CSI provider) or a controller
//! (secret-sync) needs.
//!
//! One [`AssertionCredential`] per cloud authority is shared by every
//! client: its token cache is keyed by tenant, client id and the
//! assertion's issuer, subject and audience, so the workloads of one
//! ServiceAccount share one Entra exchange while two ServiceAccounts never
//! share a token. Each vault's challenge (scope and tenant) is learnt once
//! and handed to later clients of that vault, so each read costs one
//! request instead of a probe plus the read.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use azure_wi_core::AzureCloud;
use futures::{Stream, StreamExt as _, TryStreamExt as _};

use crate::{
    AssertionCredential, AuthorityHost, Certificate, Challenge, Error, Key, RetryPolicy, Secret,
    SecretClient, SecretProperties, TokenProxy, VaultCredential, WorkloadIdentityCredential,
    delivery::{ObjectKind, ReadAs, VaultError, VaultObjects, VersionInfo, version_of},
    transport::{SharedTransport, Transport},
};

/// Key Vault clients for many workload identities, sharing credentials,
/// connections and challenges. Cheap to share behind an `Arc`.
///
/// It reads through [`VaultObjects`]: each call builds a client for the
/// caller ([`ReadAs`]), starting from the vault's challenge when an earlier
/// call learnt it, and keeps the challenge the call learnt for the next.
///
/// Each Key Vault request is made once: the services it serves wait out
/// throttling themselves, a CSI mount within its deadline without holding
/// the vault's concurrency permit, a controller by requeueing, and both
/// need Key Vault's `Retry-After` to do so ([`VaultError::Throttled`]).
/// [`with_retry_policy`](Self::with_retry_policy) changes that.
pub struct WorkloadVaults {
    /// The HTTP client for Entra and Key Vault, or `None` for the default
    /// transport (`HTTPS_PROXY`, `AZURE_WI_EXTRA_CA_FILE`).
    http: Option<reqwest::Client>,
    /// Key Vault requests go through this instead, when set.
    vault_transport: Option<SharedTransport>,
    retry: RetryPolicy,
    /// By cloud, and whether through the token proxy.
    credentials: Mutex<HashMap<(AzureCloud, bool), AssertionCredential>>,
    /// The identity binding's token proxy, or why there is none.
    token_proxy: Option<Result<TokenProxy, String>>,
    /// This process's own identity and the HTTP client for its Key Vault
    /// requests (its credential's transport when `None`).
    own: Option<(WorkloadIdentityCredential, Option<reqwest::Client>)>,
    /// By vault URL and tenant: a challenge is the vault's, vetted
    /// against the identity's tenant.
    challenges: Mutex<HashMap<(String, String), Challenge>>,
}

impl fmt::Debug for WorkloadVaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkloadVaults")
            .field("custom_http_client", &self.http.is_some())
            .field("custom_vault_transport", &self.vault_transport.is_some())
            .field("own_identity", &self.own.is_some())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl WorkloadVaults {
    /// With the default transport, building every cloud's credential up
    /// front so a broken transport fails at start-up, not at first use.
    ///
    /// # Errors
    ///
    /// The transport cannot be built (`AZURE_WI_EXTRA_CA_FILE` names an
    /// unusable file).
    pub fn new() -> Result<Self, Error> {
        Self::build(None)
    }

    /// Sending every request (Entra and Key Vault) with `client`.
    ///
    /// # Errors
    ///
    /// As [`WorkloadVaults::new`].
    pub fn with_http_client(client: reqwest::Client) -> Result<Self, Error> {
        Self::build(Some(client))
    }

    fn build(http: Option<reqwest::Client>) -> Result<Self, Error> {
        let vaults = Self {
            http,
            vault_transport: None,
            retry: RetryPolicy::once(),
            credentials: Mutex::default(),
            token_proxy: None,
            own: None,
            challenges: Mutex::default(),
        };
        for cloud in AzureCloud::ALL {
            vaults.credential(cloud, false)?;
        }
        Ok(vaults)
    }

    /// Key Vault requests are retried within `policy` (Entra exchanges
    /// keep the credential's own) instead of made once.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sends Key Vault requests (not Entra's) through `transport`: a
    /// service's own HTTP stack, or a test's stand-in for the vault.
    #[must_use]
    pub fn with_key_vault_transport(mut self, transport: impl Transport) -> Self {
        self.vault_transport = Some(Arc::new(transport));
        self
    }

    /// Reads as [`ReadAs::IdentityBinding`] through `proxy`, or, when it is
    /// `Err`, fails such reads with [`VaultError::TokenProxyUnavailable`]
    /// giving that reason (a token proxy that could not be set up at
    /// start-up, as the Go provider reports it at each mount).
    ///
    /// # Errors
    ///
    /// [`Error::TokenProxy`] when the proxy's CA cannot be used.
    pub fn with_token_proxy(mut self, proxy: Result<TokenProxy, String>) -> Result<Self, Error> {
        self.token_proxy = Some(proxy);
        lock(&self.credentials).retain(|(_, through_proxy), _| !through_proxy);
        if matches!(self.token_proxy, Some(Ok(_))) {
            for cloud in AzureCloud::ALL {
                self.credential(cloud, true)?;
            }
        }
        Ok(self)
    }

    /// Reads as [`ReadAs::Own`] with `credential` (the pod's own workload
    /// identity), its Key Vault requests sent with `http` when given, else
    /// through the credential's transport.
    #[must_use]
    pub fn with_own_identity(
        mut self,
        credential: WorkloadIdentityCredential,
        http: Option<reqwest::Client>,
    ) -> Self {
        self.own = Some((credential, http));
        self
    }

    /// The shared credential of `cloud`'s authority, through the token
    /// proxy or not.
    fn credential(
        &self,
        cloud: AzureCloud,
        through_proxy: bool,
    ) -> Result<AssertionCredential, Error> {
        let mut credentials = lock(&self.credentials);
        if let Some(credential) = credentials.get(&(cloud, through_proxy)) {
            return Ok(credential.clone());
        }
        let authority: AuthorityHost = cloud.authority_host().parse()?;
        let mut builder = AssertionCredential::builder().with_authority_host(authority);
        if let Some(http) = &self.http {
            builder = builder.with_http_client(http.clone());
        }
        if through_proxy && let Some(Ok(proxy)) = &self.token_proxy {
            builder = builder.with_token_proxy(Some(proxy.clone()));
        }
        let credential = builder.build()?;
        credentials.insert((cloud, through_proxy), credential.clone());
        Ok(credential)
    }

    /// A client of `vault_url` acting as `reader`, for what the
    /// [`VaultObjects`] reads do not cover (a PushSecret's writes); it
    /// starts from the vault's challenge when an earlier client learnt it.
    ///
    /// # Errors
    ///
    /// [`VaultError`] when `reader`'s identity cannot be used here (no own
    /// identity, no token proxy) or the client cannot be built.
    pub fn client_as(&self, vault_url: &str, reader: &ReadAs) -> Result<SecretClient, VaultError> {
        let (credential, http, tenant): (VaultCredential, _, _) = match reader {
            ReadAs::Workload {
                identity,
                cloud,
                token,
            } => (
                self.credential(*cloud, false)?
                    .for_workload(identity.clone(), token.clone())
                    .into(),
                self.http.as_ref(),
                identity.tenant_id(),
            ),
            ReadAs::IdentityBinding {
                identity,
                cloud,
                token,
            } => {
                match &self.token_proxy {
                    Some(Ok(_)) => {}
                    Some(Err(reason)) => {
                        return Err(VaultError::TokenProxyUnavailable {
                            reason: reason.clone(),
                        });
                    }
                    None => {
                        return Err(VaultError::TokenProxyUnavailable {
                            reason: "no token proxy is configured".to_owned(),
                        });
                    }
                }
                (
                    self.credential(*cloud, true)?
                        .for_workload(identity.clone(), token.clone())
                        .into(),
                    self.http.as_ref(),
                    identity.tenant_id(),
                )
            }
            ReadAs::Own => {
                let (credential, http) = self.own.as_ref().ok_or(VaultError::NoOwnIdentity)?;
                (
                    credential.clone().into(),
                    http.as_ref(),
                    credential.config().tenant_id(),
                )
            }
        };
        let key = challenge_key(vault_url, tenant.as_str());
        let mut builder =
            SecretClient::builder(vault_url, credential).with_retry_policy(self.retry);
        if let Some(http) = http {
            builder = builder.with_http_client(http.clone());
        }
        if let Some(transport) = &self.vault_transport {
            builder = builder.with_shared_transport(Arc::clone(transport));
        }
        if let Some(challenge) = lock(&self.challenges).get(&key) {
            builder = builder.with_challenge(challenge.clone());
        }
        Ok(builder.build()?)
    }

    /// Runs `read` with a client of `vault_url` for `reader`, then keeps
    /// the challenge the client learnt, whatever the outcome, so the next
    /// client of the vault sends its token at once.
    async fn read<T>(
        &self,
        vault_url: &str,
        reader: &ReadAs,
        read: impl AsyncFnOnce(&SecretClient) -> Result<T, Error>,
    ) -> Result<T, VaultError> {
        let client = self.client_as(vault_url, reader)?;
        let result = read(&client).await;
        self.remember(&client);
        result.map_err(VaultError::from)
    }

    /// Keeps the challenge `client` learnt for the next client of its
    /// vault.
    fn remember(&self, client: &SecretClient) {
        let Some(challenge) = client.challenge() else {
            return;
        };
        let tenant = client.tenant_id().as_str().to_owned();
        lock(&self.challenges).insert(challenge_key(client.vault_url(), &tenant), challenge);
    }
}

/// Every item of a listing, as versions.
async fn versions<P, E>(
    listing: impl Stream<Item = Result<P, E>>,
    entry: impl Fn(P) -> VersionInfo,
) -> Result<Vec<VersionInfo>, E> {
    listing.map_ok(entry).try_collect().await
}

fn version_info(
    id: &str,
    version: Option<String>,
    enabled: bool,
    created: Option<std::time::SystemTime>,
) -> VersionInfo {
    VersionInfo {
        version: version.unwrap_or_else(|| version_of(id).to_owned()),
        enabled,
        created,
    }
}

impl VaultObjects for WorkloadVaults {
    async fn secret(
        &self,
        vault: &str,
        reader: &ReadAs,
        name: &str,
        version: Option<&str>,
    ) -> Result<Secret, VaultError> {
        self.read(vault, reader, async |client| match version {
            Some(version) => client.get_secret_version(name, version).await,
            None => client.get_secret(name).await,
        })
        .await
    }

    async fn key(
        &self,
        vault: &str,
        reader: &ReadAs,
        name: &str,
        version: Option<&str>,
    ) -> Result<Key, VaultError> {
        self.read(vault, reader, async |client| {
            let keys = client.key_client();
            match version {
                Some(version) => keys.get_key_version(name, version).await,
                None => keys.get_key(name).await,
            }
        })
        .await
    }

    async fn certificate(
        &self,
        vault: &str,
        reader: &ReadAs,
        name: &str,
        version: Option<&str>,
    ) -> Result<Certificate, VaultError> {
        self.read(vault, reader, async |client| {
            let certificates = client.certificate_client();
            match version {
                Some(version) => certificates.get_certificate_version(name, version).await,
                None => certificates.get_certificate(name).await,
            }
        })
        .await
    }

    async fn versions(
        &self,
        vault: &str,
        reader: &ReadAs,
        kind: ObjectKind,
        name: &str,
    ) -> Result<Vec<VersionInfo>, VaultError> {
        self.read(vault, reader, async |client| match kind {
            ObjectKind::Secret => {
                versions(client.list_secret_versions(name), |p| {
                    version_info(&p.id, p.version, p.enabled, p.created)
                })
                .await
            }
            ObjectKind::Key => {
                versions(client.key_client().list_key_versions(name), |p| {
                    version_info(&p.id, p.version, p.enabled, p.created)
                })
                .await
            }
            ObjectKind::Cert => {
                versions(
                    client.certificate_client().list_certificate_versions(name),
                    |p| version_info(&p.id, p.version, p.enabled, p.created),
                )
                .await
            }
        })
        .await
    }

    async fn secrets(
        &self,
        vault: &str,
        reader: &ReadAs,
    ) -> Result<Vec<SecretProperties>, VaultError> {
        self.read(vault, reader, async |client| {
            client.list_secret_properties().try_collect().await
        })
        .await
    }

    async fn may_list_secrets(&self, vault: &str, reader: &ReadAs) -> Result<(), VaultError> {
        self.read(vault, reader, async |client| {
            // The stream asks for a page only as it is reached: its first
            // item costs exactly the first page.
            let mut listing = std::pin::pin!(client.list_secret_properties());
            listing.next().await.transpose().map(drop)
        })
        .await
    }
}

fn challenge_key(vault_url: &str, tenant: &str) -> (String, String) {
    (
        vault_url.trim_end_matches('/').to_ascii_lowercase(),
        tenant.to_ascii_lowercase(),
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reading_as_an_own_identity_it_was_not_given_names_the_fix() {
        let vaults = WorkloadVaults::new().unwrap();
        let error = vaults
            .secret("https://kv1.vault.azure.net", &ReadAs::Own, "db", None)
            .await
            .unwrap_err();
        assert!(matches!(error, VaultError::NoOwnIdentity), "{error:?}");
        let text = error.to_string();
        assert!(
            text.contains(azure_wi_core::names::CLIENT_ID_ENV)
                && text.contains(azure_wi_core::names::USE_LABEL)
                && text.contains("serviceAccountRef"),
            "{text}"
        );
    }
}
