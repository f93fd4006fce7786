//! A cluster-wide cache of ServiceAccounts, fed by a kube-rs watch.
//!
//! It keeps only what the mutation reads: namespace, name and the
//! `azure.workload.identity/*` annotations (shared, allocation-free, for the
//! many accounts that have none), so memory stays small with 100k
//! ServiceAccounts. A miss is answered by a direct GET to the API server,
//! bounded by a timeout, so a ServiceAccount created a moment before its pod
//! is found even before the watch delivers it.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{
    Api, Client,
    runtime::{WatchStreamExt as _, watcher},
};

use azure_wi_core::ServiceAccountInfo;

use super::{LookupError, ServiceAccountLookup};

type Annotations = Arc<BTreeMap<String, String>>;
type Index = HashMap<String, HashMap<String, Annotations>>;

/// ServiceAccounts of the whole cluster, kept in sync by [`run`](Self::run).
#[derive(Clone)]
pub struct ClusterServiceAccounts {
    inner: Arc<Inner>,
}

struct Inner {
    index: RwLock<Index>,
    len: AtomicUsize,
    synced: AtomicBool,
    client: Client,
    get_timeout: Duration,
    no_annotations: Annotations,
}

impl std::fmt::Debug for ClusterServiceAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterServiceAccounts")
            .field("len", &self.inner.len.load(Ordering::Relaxed))
            .field("synced", &self.inner.synced.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl ClusterServiceAccounts {
    /// A cache that is empty and unsynced until [`run`](Self::run) lists the
    /// cluster. Misses GET from the API server, waiting at most `get_timeout`.
    pub fn new(client: Client, get_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                index: RwLock::new(HashMap::new()),
                len: AtomicUsize::new(0),
                synced: AtomicBool::new(false),
                client,
                get_timeout,
                no_annotations: Arc::default(),
            }),
        }
    }

    /// Lists and watches ServiceAccounts cluster-wide until the process ends,
    /// relisting with backoff after errors. Spawn it once.
    pub async fn run(self) {
        let api: Api<ServiceAccount> = Api::all(self.inner.client.clone());
        let mut events = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut relist: Option<Index> = None;
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Init) => relist = Some(Index::new()),
                Ok(watcher::Event::InitApply(sa)) => {
                    if let Some(index) = relist.as_mut() {
                        self.insert_into(index, &sa);
                    }
                }
                Ok(watcher::Event::InitDone) => {
                    if let Some(index) = relist.take() {
                        self.replace(index);
                    }
                    if !self.inner.synced.swap(true, Ordering::SeqCst) {
                        tracing::info!(count = self.len(), "ServiceAccount cache synced");
                    }
                }
                Ok(watcher::Event::Apply(sa)) => self.apply(&sa),
                Ok(watcher::Event::Delete(sa)) => self.delete(&sa),
                Err(error) => {
                    tracing::warn!(%error, "ServiceAccount watch failed; retrying with backoff");
                }
            }
        }
    }

    fn annotations(&self, sa: &ServiceAccount) -> Annotations {
        let kept =
            ServiceAccountInfo::new("", "", sa.metadata.annotations.clone().unwrap_or_default());
        if kept.annotations().is_empty() {
            Arc::clone(&self.inner.no_annotations)
        } else {
            Arc::new(kept.annotations().clone())
        }
    }

    /// Inserts or replaces `sa`; true when it was not held before.
    fn insert_into(&self, index: &mut Index, sa: &ServiceAccount) -> bool {
        let (Some(ns), Some(name)) = (&sa.metadata.namespace, &sa.metadata.name) else {
            return false;
        };
        index
            .entry(ns.clone())
            .or_default()
            .insert(name.clone(), self.annotations(sa))
            .is_none()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        // A panic while holding the lock cannot leave the map half-updated
        // (every update is one insert or remove), so a poisoned lock is safe
        // to keep using.
        self.inner
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn apply(&self, sa: &ServiceAccount) {
        let mut index = self.write();
        if self.insert_into(&mut index, sa) {
            self.inner.len.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn delete(&self, sa: &ServiceAccount) {
        let (Some(ns), Some(name)) = (&sa.metadata.namespace, &sa.metadata.name) else {
            return;
        };
        let mut index = self.write();
        if let Some(names) = index.get_mut(ns) {
            if names.remove(name).is_some() {
                self.inner.len.fetch_sub(1, Ordering::Relaxed);
            }
            if names.is_empty() {
                index.remove(ns);
            }
        }
    }

    fn replace(&self, fresh: Index) {
        let len = fresh.values().map(HashMap::len).sum();
        let mut index = self.write();
        *index = fresh;
        self.inner.len.store(len, Ordering::Relaxed);
    }

    fn cached(&self, namespace: &str, name: &str) -> Option<ServiceAccountInfo> {
        let index = self
            .inner
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let annotations = index.get(namespace)?.get(name)?;
        Some(ServiceAccountInfo::new(
            namespace,
            name,
            annotations.iter().map(|(k, v)| (k.clone(), v.clone())),
        ))
    }
}

impl ServiceAccountLookup for ClusterServiceAccounts {
    async fn lookup(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ServiceAccountInfo>, LookupError> {
        if let Some(found) = self.cached(namespace, name) {
            return Ok(Some(found));
        }
        // Not in the cache: it may have been created a moment ago. Ask the
        // API server; the watch will deliver it to the cache shortly.
        let api: Api<ServiceAccount> = Api::namespaced(self.inner.client.clone(), namespace);
        match tokio::time::timeout(self.inner.get_timeout, api.get_opt(name)).await {
            Err(_) => Err(LookupError::Timeout(self.inner.get_timeout)),
            Ok(Err(error)) => Err(LookupError::Api(error.to_string())),
            Ok(Ok(found)) => Ok(found.map(ServiceAccountInfo::from)),
        }
    }

    fn is_synced(&self) -> bool {
        self.inner.synced.load(Ordering::SeqCst)
    }

    fn len(&self) -> usize {
        self.inner.len.load(Ordering::Relaxed)
    }
}
