//! The Key Vault reads of one sync: each `data` and `dataFrom` reference,
//! within the vault's request budget, as the store's identity. Listings for
//! `dataFrom.find` are shared by every ExternalSecret of that store and
//! identity for as long as the asking ExternalSecret's refresh interval,
//! so a store is listed once per refresh, not once per ExternalSecret.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use azure_wi_auth::{
    Assertion, FederatedIdentity, RetryPolicy, SecretClient, WorkloadIdentityCredential,
    WorkloadVaults,
};
use futures::TryStreamExt as _;

use crate::{
    budget::Budget,
    identity::WorkloadIdentity,
    plan::{Read, SyncPlan},
    remote::{ObjectKind, jwk_json},
    store::AzureStore,
    target::Fetched,
    tokens::IssuedToken,
};

/// Why a sync's reads failed.
#[derive(Debug, Clone)]
pub enum FetchError {
    /// Wait this long before reading from this vault again (the budget is
    /// spent, or Key Vault asked with `Retry-After`).
    Throttled(Duration),
    /// The remote object does not exist (`deletionPolicy` decides).
    NotFound(String),
    /// Anything else, as a sentence for the condition: Entra's refusal
    /// with its diagnosis, a 403 with the role to grant, a network error.
    Failed(String),
}

/// Whose token a read uses.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// A referenced ServiceAccount's identity and its current token.
    Workload(&'a WorkloadIdentity, &'a IssuedToken),
    /// The controller's own identity (a store without serviceAccountRef).
    Controller,
}

#[derive(Debug, Clone)]
struct Listed {
    name: String,
    tags: BTreeMap<String, String>,
}

type Listing = Arc<tokio::sync::Mutex<Option<(Instant, Arc<Vec<Listed>>)>>>;

/// Reads for every ExternalSecret, sharing credentials, budgets and
/// listings.
#[derive(Debug)]
pub struct Reader {
    vaults: WorkloadVaults,
    own: Option<WorkloadIdentityCredential>,
    own_clients: Mutex<HashMap<String, SecretClient>>,
    http: Option<reqwest::Client>,
    budget: Budget,
    listings: Mutex<HashMap<(String, String), Listing>>,
    requests: AtomicU64,
    throttled: AtomicU64,
}

impl Reader {
    /// `vaults` for referenced ServiceAccounts, `own` for stores without
    /// one (`None` when the controller's pod has no workload identity),
    /// `http` to reach Key Vault as `own` (the default transport when
    /// `None`), at most `per_window` requests per vault per 10 s.
    #[must_use]
    pub fn new(
        vaults: WorkloadVaults,
        own: Option<WorkloadIdentityCredential>,
        http: Option<reqwest::Client>,
        per_window: u32,
    ) -> Self {
        Self {
            // One attempt per Key Vault request: throttling is the budget's
            // to wait out, by requeueing, never by a sleeping reconcile.
            vaults: vaults.with_retry_policy(RetryPolicy::once()),
            own,
            own_clients: Mutex::default(),
            http,
            budget: Budget::new(per_window),
            listings: Mutex::default(),
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    /// Key Vault requests made so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Key Vault answers of 429 or 503 received so far.
    #[must_use]
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    fn client(&self, store: &AzureStore, caller: Caller<'_>) -> Result<SecretClient, FetchError> {
        let failed = |e: azure_wi_auth::Error| FetchError::Failed(e.to_string());
        match caller {
            Caller::Workload(identity, token) => {
                let assertion = Assertion::new(token.expose().to_owned()).map_err(failed)?;
                let workload =
                    FederatedIdentity::new(identity.tenant_id.clone(), identity.client_id.clone());
                self.vaults
                    .client(identity.cloud, &store.vault_url, workload, assertion)
                    .map_err(failed)
            }
            Caller::Controller => {
                let Some(own) = &self.own else {
                    return Err(FetchError::Failed(format!(
                        "the store has no serviceAccountRef, so the controller's own workload identity is used, but its pod has none: missing environment variables. {}, {} and {} must be set (label the controller's pod {}: \"true\" for the webhook), or set serviceAccountRef",
                        azure_wi_core::names::CLIENT_ID_ENV,
                        azure_wi_core::names::TENANT_ID_ENV,
                        azure_wi_core::names::FEDERATED_TOKEN_FILE_ENV,
                        azure_wi_core::names::USE_LABEL,
                    )));
                };
                let mut clients = self
                    .own_clients
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(client) = clients.get(&store.vault_url) {
                    return Ok(client.clone());
                }
                let mut builder = SecretClient::builder(&store.vault_url, own.clone())
                    .with_retry_policy(RetryPolicy::once());
                if let Some(http) = &self.http {
                    builder = builder.with_http_client(http.clone());
                }
                let client = builder.build().map_err(failed)?;
                clients.insert(store.vault_url.clone(), client.clone());
                Ok(client)
            }
        }
    }

    /// Spends `n` requests of the vault's budget.
    fn spend(&self, store: &AzureStore, n: usize) -> Result<(), FetchError> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.budget
            .take(&store.vault_url, n, Instant::now())
            .map_err(FetchError::Throttled)?;
        self.requests.fetch_add(u64::from(n), Ordering::Relaxed);
        Ok(())
    }

    /// The error of a Key Vault answer: throttling pauses the vault.
    fn error(&self, store: &AzureStore, what: &str, error: azure_wi_auth::Error) -> FetchError {
        use azure_wi_auth::Error as Auth;
        match error {
            Auth::SecretNotFound { .. }
            | Auth::KeyNotFound { .. }
            | Auth::CertificateNotFound { .. } => FetchError::NotFound(what.to_owned()),
            Auth::KeyVault {
                status: 429 | 503,
                retry_after,
                ..
            } => {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                let wait = retry_after.unwrap_or(Duration::from_secs(10));
                self.budget.pause(&store.vault_url, wait, Instant::now());
                FetchError::Throttled(wait)
            }
            other => FetchError::Failed(other.to_string()),
        }
    }

    /// Every value `plan` needs, as `caller`.
    ///
    /// # Errors
    ///
    /// [`FetchError`].
    pub async fn fetch(
        &self,
        store: &AzureStore,
        caller: Caller<'_>,
        plan: &SyncPlan,
    ) -> Result<Fetched, FetchError> {
        let client = self.client(store, caller)?;
        let result = self.fetch_with(&client, store, caller, plan).await;
        if let Caller::Workload(..) = caller {
            self.vaults.remember(&client);
        }
        result
    }

    async fn fetch_with(
        &self,
        client: &SecretClient,
        store: &AzureStore,
        caller: Caller<'_>,
        plan: &SyncPlan,
    ) -> Result<Fetched, FetchError> {
        self.spend(store, plan.reads.len() + plan.extracts.len())?;
        let reads = futures::future::try_join_all(
            plan.reads
                .iter()
                .chain(&plan.extracts)
                .map(|read| self.read(client, store, read)),
        )
        .await?;
        let (reads, extracts) = {
            let mut all = reads;
            let extracts = all.split_off(plan.reads.len());
            (all, extracts)
        };
        let mut finds = Vec::with_capacity(plan.finds.len());
        if !plan.finds.is_empty() {
            let max_age = plan.refresh.unwrap_or(Duration::MAX);
            let listed = self.listing(client, store, caller, max_age).await?;
            for find in &plan.finds {
                let names: Vec<&str> = listed
                    .iter()
                    .filter(|item| find.matches(&item.name, &item.tags))
                    .map(|item| item.name.as_str())
                    .collect();
                self.spend(store, names.len())?;
                let values = futures::future::try_join_all(names.iter().map(|name| async move {
                    let secret = client
                        .get_secret(name)
                        .await
                        .map_err(|e| self.error(store, name, e))?;
                    Ok::<_, FetchError>((
                        (*name).to_owned(),
                        secret.value.expose().as_bytes().to_vec(),
                    ))
                }))
                .await?;
                finds.push(values.into_iter().collect());
            }
        }
        Ok(Fetched {
            reads,
            extracts,
            finds,
        })
    }

    async fn read(
        &self,
        client: &SecretClient,
        store: &AzureStore,
        read: &Read,
    ) -> Result<Vec<u8>, FetchError> {
        let name = read.remote.name.as_str();
        let version = read.version.as_deref();
        let failed = |e| self.error(store, &read.key, e);
        match read.remote.kind {
            ObjectKind::Secret => {
                let secret = match version {
                    Some(v) => client.get_secret_version(name, v).await,
                    None => client.get_secret(name).await,
                }
                .map_err(failed)?;
                Ok(secret.value.expose().as_bytes().to_vec())
            }
            ObjectKind::Cert => {
                let certificates = client.certificate_client();
                let certificate = match version {
                    Some(v) => certificates.get_certificate_version(name, v).await,
                    None => certificates.get_certificate(name).await,
                }
                .map_err(failed)?;
                Ok(certificate.cer)
            }
            ObjectKind::Key => {
                let keys = client.key_client();
                let key = match version {
                    Some(v) => keys.get_key_version(name, v).await,
                    None => keys.get_key(name).await,
                }
                .map_err(failed)?;
                Ok(jwk_json(&key.properties.id, &key.key, &key.key_ops).into_bytes())
            }
        }
    }

    /// The store's enabled secrets, listed at most once per `max_age` for
    /// this identity.
    async fn listing(
        &self,
        client: &SecretClient,
        store: &AzureStore,
        caller: Caller<'_>,
        max_age: Duration,
    ) -> Result<Arc<Vec<Listed>>, FetchError> {
        let who = match caller {
            Caller::Workload(identity, _) => format!(
                "{}/{}/{}/{}",
                identity.namespace,
                identity.service_account,
                identity.client_id,
                identity.tenant_id
            ),
            Caller::Controller => String::from("controller"),
        };
        let slot = Arc::clone(
            self.listings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry((store.vault_url.clone(), who))
                .or_default(),
        );
        let mut slot = slot.lock().await;
        if let Some((at, listed)) = slot.as_ref()
            && at.elapsed() < max_age
        {
            return Ok(Arc::clone(listed));
        }
        self.spend(store, 1)?;
        let listed: Vec<Listed> = client
            .list_secret_properties()
            .try_filter(|p| futures::future::ready(p.enabled))
            .map_ok(|p| Listed {
                name: p.name,
                tags: p.tags,
            })
            .try_collect()
            .await
            .map_err(|e| self.error(store, "the secret listing", e))?;
        let listed = Arc::new(listed);
        *slot = Some((Instant::now(), Arc::clone(&listed)));
        Ok(listed)
    }
}
