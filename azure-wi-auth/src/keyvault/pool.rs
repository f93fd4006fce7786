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
    sync::{Mutex, MutexGuard, PoisonError},
};

use azure_wi_core::AzureCloud;

use crate::{
    Assertion, AssertionCredential, AuthorityHost, Challenge, Error, FederatedIdentity,
    RetryPolicy, SecretClient,
};

/// Key Vault clients for many workload identities, sharing credentials,
/// connections and challenges. Cheap to share behind an `Arc`.
pub struct WorkloadVaults {
    /// The HTTP client for Entra and Key Vault, or `None` for the default
    /// transport (`HTTPS_PROXY`, `AZURE_WI_EXTRA_CA_FILE`).
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
    credentials: Mutex<HashMap<AzureCloud, AssertionCredential>>,
    /// By vault URL and tenant: a challenge is the vault's, vetted
    /// against the identity's tenant.
    challenges: Mutex<HashMap<(String, String), Challenge>>,
}

impl fmt::Debug for WorkloadVaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkloadVaults")
            .field("custom_http_client", &self.http.is_some())
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
            retry: RetryPolicy::default(),
            credentials: Mutex::default(),
            challenges: Mutex::default(),
        };
        for cloud in AzureCloud::ALL {
            vaults.credential(cloud)?;
        }
        Ok(vaults)
    }

    /// Key Vault requests are retried within `policy` (Entra exchanges
    /// keep the credential's own). A caller that waits out throttling
    /// itself passes one attempt.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The shared credential of `cloud`'s authority.
    fn credential(&self, cloud: AzureCloud) -> Result<AssertionCredential, Error> {
        let mut credentials = lock(&self.credentials);
        if let Some(credential) = credentials.get(&cloud) {
            return Ok(credential.clone());
        }
        let authority: AuthorityHost = cloud.authority_host().parse()?;
        let mut builder = AssertionCredential::builder().with_authority_host(authority);
        if let Some(http) = &self.http {
            builder = builder.with_http_client(http.clone());
        }
        let credential = builder.build()?;
        credentials.insert(cloud, credential.clone());
        Ok(credential)
    }

    /// A client of `vault_url` reading as `identity` of `cloud`, presenting
    /// `assertion` should its token need an exchange; it starts from the
    /// vault's challenge when an earlier client learnt it. Call
    /// [`remember`](Self::remember) after using it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVaultUrl`], or a challenge that does not fit the
    /// identity's tenant.
    pub fn client(
        &self,
        cloud: AzureCloud,
        vault_url: &str,
        identity: FederatedIdentity,
        assertion: Assertion,
    ) -> Result<SecretClient, Error> {
        let tenant = identity.tenant_id().as_str().to_owned();
        let credential = self.credential(cloud)?;
        let mut builder =
            SecretClient::builder(vault_url, credential.for_workload(identity, assertion))
                .with_retry_policy(self.retry);
        if let Some(http) = &self.http {
            builder = builder.with_http_client(http.clone());
        }
        if let Some(challenge) = lock(&self.challenges).get(&challenge_key(vault_url, &tenant)) {
            builder = builder.with_challenge(challenge.clone());
        }
        builder.build()
    }

    /// Keeps the challenge `client` learnt for the next client of its
    /// vault.
    pub fn remember(&self, client: &SecretClient) {
        let Some(challenge) = client.challenge() else {
            return;
        };
        let tenant = client.tenant_id().as_str().to_owned();
        lock(&self.challenges).insert(challenge_key(client.vault_url(), &tenant), challenge);
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
