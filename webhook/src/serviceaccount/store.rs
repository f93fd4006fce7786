//! Where the server finds a pod's ServiceAccount.

use std::{collections::HashMap, future::Future, sync::Arc};

use azure_wi_core::ServiceAccountInfo;

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

/// A source of ServiceAccounts for the admission handler.
///
/// `Ok(None)` means the ServiceAccount does not exist, which denies the pod
/// with the reference's `serviceaccounts "<name>" not found`.
pub trait ServiceAccountLookup: Send + Sync + 'static {
    /// Looks up `namespace/name`.
    fn lookup(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<ServiceAccountInfo>, LookupError>> + Send;

    /// Whether the source has its initial contents, which `/readyz` waits for.
    fn is_synced(&self) -> bool;

    /// How many ServiceAccounts are held, for the cache size gauge.
    fn len(&self) -> usize;

    /// Whether nothing is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// ServiceAccounts fixed at start-up, from `--service-accounts FILE`: for
/// local runs and tests without a cluster.
#[derive(Debug, Clone, Default)]
pub struct StaticServiceAccounts {
    accounts: Arc<HashMap<(String, String), ServiceAccountInfo>>,
}

impl StaticServiceAccounts {
    /// Holds `accounts`; a later duplicate of `namespace/name` wins, as a
    /// later `kubectl apply` would.
    pub fn new(accounts: impl IntoIterator<Item = ServiceAccountInfo>) -> Self {
        let accounts = accounts
            .into_iter()
            .map(|sa| ((sa.namespace().to_owned(), sa.name().to_owned()), sa))
            .collect();
        Self {
            accounts: Arc::new(accounts),
        }
    }

    /// The account at `namespace/name`, synchronously.
    pub fn get(&self, namespace: &str, name: &str) -> Option<&ServiceAccountInfo> {
        self.accounts.get(&(namespace.to_owned(), name.to_owned()))
    }
}

impl ServiceAccountLookup for StaticServiceAccounts {
    async fn lookup(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ServiceAccountInfo>, LookupError> {
        Ok(self.get(namespace, name).cloned())
    }

    fn is_synced(&self) -> bool {
        true
    }

    fn len(&self) -> usize {
        self.accounts.len()
    }
}
