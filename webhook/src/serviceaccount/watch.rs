//! A cluster-wide cache of ServiceAccounts: a kube-rs watch feeding a
//! [`ServiceAccountIndex`], with a bounded GET beside it for misses.
//!
//! The index keeps only what the mutation reads (namespace, name and the
//! `azure.workload.identity/*` annotations), so memory stays small with 100k
//! ServiceAccounts. A miss is answered by a direct GET to the API server,
//! bounded by a timeout, so a ServiceAccount created a moment before its pod
//! is found even before the watch delivers it. The first completed list
//! (the watcher's `InitDone`) marks the cache synced, pushed to whoever
//! follows [`status`](ServiceAccountLookup::status).

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{
    Api, Client,
    runtime::{WatchStreamExt as _, watcher},
};
use tokio::sync::watch as channel;

use azure_wi_core::ServiceAccountInfo;

use super::{LookupError, ServiceAccountIndex, ServiceAccountLookup, SourceStatus};

/// ServiceAccounts of the whole cluster, kept in sync by [`run`](Self::run).
#[derive(Clone)]
pub struct ClusterServiceAccounts {
    inner: Arc<Inner>,
}

struct Inner {
    index: RwLock<ServiceAccountIndex>,
    status: channel::Sender<SourceStatus>,
    client: Client,
    get_timeout: Duration,
}

impl std::fmt::Debug for ClusterServiceAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterServiceAccounts")
            .field("status", &*self.inner.status.borrow())
            .finish_non_exhaustive()
    }
}

impl ClusterServiceAccounts {
    /// A cache that is empty and unsynced until [`run`](Self::run) lists the
    /// cluster. Misses GET from the API server, waiting at most `get_timeout`.
    pub fn new(client: Client, get_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                index: RwLock::new(ServiceAccountIndex::default()),
                status: channel::Sender::new(SourceStatus::default()),
                client,
                get_timeout,
            }),
        }
    }

    /// Lists and watches ServiceAccounts cluster-wide until the process ends,
    /// relisting with backoff after errors. Spawn it once.
    ///
    /// A relist is collected aside and swapped in whole when it completes,
    /// so lookups keep the previous content meanwhile and accounts deleted
    /// while the watch was down disappear.
    pub async fn run(self) {
        let api: Api<ServiceAccount> = Api::all(self.inner.client.clone());
        let mut events = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        // The relist is built as an index of its own, each object reduced
        // as it arrives, so no list of the full objects or of their
        // reductions is held meanwhile.
        let mut relist: Option<ServiceAccountIndex> = None;
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Init) => relist = Some(ServiceAccountIndex::default()),
                Ok(watcher::Event::InitApply(sa)) => {
                    if let Some(relisted) = relist.as_mut() {
                        relisted.apply(ServiceAccountInfo::from(sa));
                    }
                }
                Ok(watcher::Event::InitDone) => {
                    if let Some(mut relisted) = relist.take() {
                        relisted.shrink_to_fit();
                        self.update(|index| *index = relisted);
                    }
                    let first = !self.inner.status.borrow().synced;
                    self.inner.status.send_modify(|s| s.synced = true);
                    if first {
                        tracing::info!(count = self.len(), "ServiceAccount cache synced");
                    }
                }
                Ok(watcher::Event::Apply(sa)) => {
                    self.update(|index| index.apply(ServiceAccountInfo::from(sa)));
                }
                Ok(watcher::Event::Delete(sa)) => {
                    if let (Some(ns), Some(name)) = (&sa.metadata.namespace, &sa.metadata.name) {
                        self.update(|index| index.delete(ns, name));
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "ServiceAccount watch failed; retrying with backoff");
                }
            }
        }
    }

    /// Changes the index and publishes its new size.
    fn update(&self, change: impl FnOnce(&mut ServiceAccountIndex)) {
        let len = {
            // A panic while holding the lock cannot leave the index half
            // updated in a way lookups could misread (each change is one
            // insert, remove or swap), so a poisoned lock is safe to reuse.
            let mut index = self
                .inner
                .index
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            change(&mut index);
            index.len()
        };
        self.inner.status.send_if_modified(|s| {
            let changed = s.len != len;
            s.len = len;
            changed
        });
    }

    fn cached(&self, namespace: &str, name: &str) -> Option<Arc<ServiceAccountInfo>> {
        self.inner
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(namespace, name)
    }

    /// Whether the first list has completed.
    pub fn is_synced(&self) -> bool {
        self.inner.status.borrow().synced
    }

    /// How many ServiceAccounts are cached.
    pub fn len(&self) -> usize {
        self.inner.status.borrow().len
    }

    /// Whether no ServiceAccount is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ServiceAccountLookup for ClusterServiceAccounts {
    async fn lookup(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Arc<ServiceAccountInfo>>, LookupError> {
        if let Some(found) = self.cached(namespace, name) {
            return Ok(Some(found));
        }
        // Not in the cache: it may have been created a moment ago. Ask the
        // API server; the watch will deliver it to the cache shortly.
        let api: Api<ServiceAccount> = Api::namespaced(self.inner.client.clone(), namespace);
        match tokio::time::timeout(self.inner.get_timeout, api.get_opt(name)).await {
            Err(_) => Err(LookupError::Timeout(self.inner.get_timeout)),
            Ok(Err(error)) => Err(LookupError::Api(error.to_string())),
            Ok(Ok(found)) => Ok(found.map(|sa| Arc::new(ServiceAccountInfo::from(sa)))),
        }
    }

    fn status(&self) -> channel::Receiver<SourceStatus> {
        self.inner.status.subscribe()
    }

    fn has_namespace(&self, namespace: &str) -> bool {
        self.inner
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .has_namespace(namespace)
    }
}
