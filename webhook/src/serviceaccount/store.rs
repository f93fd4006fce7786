//! Where the server finds a pod's ServiceAccount.

use std::{collections::HashMap, future::Future, sync::Arc};

use azure_wi_core::ServiceAccountInfo;
use tokio::sync::watch;

/// Why a ServiceAccount could not be looked up (as opposed to not existing).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The API server did not answer in time.
    #[error("the API server did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The API server answered with an error.
    #[error("the API server refused the request: {0}")]
    Api(String),
}

/// What a ServiceAccount source reports about itself, pushed to the server
/// on every change: `/readyz` follows `synced`, the cache size gauge `len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceStatus {
    /// Whether the source has its initial contents (for a watch, its first
    /// list completed), which `/readyz` waits for.
    pub synced: bool,
    /// How many ServiceAccounts are held.
    pub len: usize,
}

/// A source of ServiceAccounts for the admission flow.
///
/// `Ok(None)` means the ServiceAccount does not exist, which denies the pod
/// with the reference's `serviceaccounts "<name>" not found`. A found
/// account is handed out shared, as the source holds it.
pub trait ServiceAccountLookup: Send + Sync + 'static {
    /// Looks up `namespace/name`.
    fn lookup(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<Arc<ServiceAccountInfo>>, LookupError>> + Send;

    /// The source's status and its every change. The server follows it
    /// instead of polling, so `/readyz` turns ready the moment the source
    /// syncs.
    ///
    /// The default is a source that is synced from the start and counts
    /// nothing, as a lookup without a cache (a test double) is.
    fn status(&self) -> watch::Receiver<SourceStatus> {
        watch::channel(SourceStatus {
            synced: true,
            len: 0,
        })
        .1
    }

    /// Whether `namespace` exists as far as this source knows: metrics
    /// label admissions by namespace only for namespaces that exist, so
    /// requests naming made-up namespaces cannot grow the label set. A
    /// source without a cache (a test double) cannot tell and says yes.
    fn has_namespace(&self, namespace: &str) -> bool {
        let _ = namespace;
        true
    }
}

/// ServiceAccounts fixed at start-up, from `--service-accounts FILE`: for
/// local runs, the dry run and tests without a cluster. A lookup is ready
/// at once.
#[derive(Debug, Clone, Default)]
pub struct StaticServiceAccounts {
    accounts: Arc<HashMap<(String, String), Arc<ServiceAccountInfo>>>,
}

impl StaticServiceAccounts {
    /// Holds `accounts`; a later duplicate of `namespace/name` wins, as a
    /// later `kubectl apply` would.
    pub fn new(accounts: impl IntoIterator<Item = ServiceAccountInfo>) -> Self {
        let accounts = accounts
            .into_iter()
            .map(|sa| {
                (
                    (sa.namespace().to_owned(), sa.name().to_owned()),
                    Arc::new(sa),
                )
            })
            .collect();
        Self {
            accounts: Arc::new(accounts),
        }
    }

    /// The account at `namespace/name`, synchronously.
    pub fn get(&self, namespace: &str, name: &str) -> Option<&Arc<ServiceAccountInfo>> {
        self.accounts.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// How many accounts are held.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether no account is held.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

impl ServiceAccountLookup for StaticServiceAccounts {
    async fn lookup(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Arc<ServiceAccountInfo>>, LookupError> {
        Ok(self.get(namespace, name).cloned())
    }

    fn has_namespace(&self, namespace: &str) -> bool {
        self.accounts.keys().any(|(ns, _)| ns == namespace)
    }

    fn status(&self) -> watch::Receiver<SourceStatus> {
        // Synced from the start and never changing: the sender can go.
        watch::channel(SourceStatus {
            synced: true,
            len: self.len(),
        })
        .1
    }
}
