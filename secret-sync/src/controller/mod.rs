//! The controller: one kube-rs runtime controller per kind, sharing one
//! [`Context`] (the Key Vault reader, the token cache, the event recorder,
//! metrics). ExternalSecrets are reconciled again when their store, or
//! the Secret they manage, changes; PushSecrets when they change and at
//! their refresh interval, as ESO's are.

pub mod backoff;
mod cluster_external_secret;
pub mod events;
mod external_secret;
pub mod metrics;
mod push_secret;
mod status;
mod stores;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

pub use backoff::Backoff;
pub use cluster_external_secret::reconcile_cluster_external_secret;
pub use external_secret::{FINALIZER, ReconcileError, SyncFailure, reconcile};
use futures::future::{join3, join5};
use futures::{FutureExt as _, StreamExt as _};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use kube::core::PartialObjectMeta;
use kube::{
    Api, Resource, ResourceExt,
    runtime::{
        Controller, WatchStreamExt as _,
        controller::Action,
        reflector::{ObjectRef, Store},
        watcher,
    },
};
pub use push_secret::reconcile_push_secret;
pub use stores::{reconcile_cluster_store, reconcile_store};
use tokio::sync::watch;

use crate::{
    api::{
        ClusterExternalSecret, ClusterSecretStore, ExternalSecret, PushSecret, SecretStore,
        StoreKind,
    },
    fetch::Reader,
    target::MANAGED_LABEL,
    tokens::Tokens,
};

/// Counters the benchmark and `/metrics` read.
#[derive(Debug, Default)]
pub struct Counters {
    synced: AtomicU64,
    failed: AtomicU64,
}

impl Counters {
    fn synced(&self) {
        self.synced.fetch_add(1, Ordering::Relaxed);
    }

    fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Successful syncs (Secret written or already current).
    #[must_use]
    pub fn synced_total(&self) -> u64 {
        self.synced.load(Ordering::Relaxed)
    }

    /// Failed syncs.
    #[must_use]
    pub fn failed_total(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// What every reconcile shares.
pub struct Context {
    /// The apiserver.
    pub client: kube::Client,
    /// Key Vault, with budgets and listings.
    pub reader: Reader,
    /// ServiceAccount tokens.
    pub tokens: Tokens,
    /// Events.
    pub recorder: events::Events,
    /// The controller's `AZURE_TENANT_ID`, the last tenant fallback.
    pub controller_tenant: Option<String>,
    /// Counters.
    pub metrics: Counters,
    /// Consecutive failures per object, for the retry delay.
    pub backoff: Backoff,
    /// The template functions (built once: Go's, Sprig's and ESO's).
    pub template_funcs: azure_wi_template::Registry,
    /// Template action delimiters (`--template-left-delimiter`/`-right-`).
    pub template_delims: azure_wi_template::Delims,
    /// Bounds on each template's work.
    pub template_limits: azure_wi_template::Limits,
    /// Since when each ExternalSecret's Secret is known current, so a
    /// refresh reads only what a listing shows changed.
    pub freshness: crate::change::Freshness,
    /// The running controller's caches, while it runs.
    lookups: std::sync::RwLock<Option<Lookups>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("reader", &self.reader)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context reporting events as `controller` (`secret-sync`).
    #[must_use]
    pub fn new(client: kube::Client, reader: Reader, controller_tenant: Option<String>) -> Self {
        let recorder = events::Events::new(
            client.clone(),
            "secret-sync",
            std::env::var("POD_NAME").ok(),
        );
        Self {
            client,
            reader,
            tokens: Tokens::default(),
            recorder,
            controller_tenant,
            metrics: Counters::default(),
            backoff: Backoff::default(),
            template_funcs: azure_wi_template::functions(),
            template_delims: azure_wi_template::Delims::default(),
            template_limits: azure_wi_template::Limits::default(),
            freshness: crate::change::Freshness::default(),
            lookups: std::sync::RwLock::default(),
        }
    }

    /// The running controller's caches (`None` outside [`run`]).
    pub(crate) fn lookups(&self) -> Option<Lookups> {
        self.lookups
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_lookups(&self, lookups: Lookups) {
        *self
            .lookups
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(lookups);
    }

    fn clear_lookups(&self) {
        *self
            .lookups
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// ExternalSecrets reconciled at once unless `--concurrency` says
/// otherwise. A reconcile mostly waits on the API server (four calls for a
/// sync that writes): at 10,000 ExternalSecrets on a 1 m refresh, 16 keep
/// up where 8 fell behind (`cargo bench -p secret-sync --bench scale`).
pub const DEFAULT_CONCURRENCY: u16 = 16;

/// How long one reconcile may take, Key Vault and API calls included; a
/// call that hangs past it (an API server that stopped answering) frees
/// the slot and the object is retried with backoff.
const RECONCILE_DEADLINE: Duration = Duration::from_secs(60);

/// A failed reconcile is retried after a delay that doubles with each
/// failure of that object (ESO's controller-runtime queue does the same).
#[allow(clippy::needless_pass_by_value)] // kube-rs's error-policy signature
fn error_policy<K: Resource<DynamicType = ()>>(
    object: Arc<K>,
    error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    let wait = ctx.backoff.failed(&uid(object.as_ref()));
    tracing::warn!(
        %error,
        kind = %K::kind(&()),
        name = %object.name_any(),
        namespace = object.namespace().unwrap_or_default(),
        retry_in_ms = wait.as_millis(),
        "reconcile failed; retrying"
    );
    Action::requeue(wait)
}

/// The key an object's consecutive failures are counted under.
fn uid<K: Resource>(object: &K) -> String {
    object
        .meta()
        .uid
        .clone()
        .unwrap_or_else(|| object.name_any())
}

/// Runs the five controllers until `shutdown` is cancelled; `synced` turns
/// true once their caches hold a first listing.
pub async fn run(
    ctx: Arc<Context>,
    concurrency: u16,
    shutdown: tokio_util::sync::CancellationToken,
    synced: watch::Sender<bool>,
) {
    let client = ctx.client.clone();
    let shutdown_accounts = shutdown.clone();
    let external_secrets: Api<ExternalSecret> = Api::all(client.clone());
    // Writing a Secret and then the status triggers two watch events; the
    // debounce lets the second land in the cache before the reconcile they
    // cause reads it, so a fresh sync is not repeated for the first.
    let config = kube::runtime::controller::Config::default()
        .concurrency(concurrency)
        .debounce(Duration::from_secs(1));
    // The cache holds every ExternalSecret: without `managedFields` (a
    // third of each object as the API server serves it, never read here),
    // 10,000 of them take about 28 MiB instead of 78.
    let (es_reader, es_writer) = kube::runtime::reflector::store();
    // Only what a reconcile acts on starts one ([`ActedOnFilter`]).
    let es_stream = watcher(external_secrets, watch_config())
        .default_backoff()
        .modify(|es: &mut ExternalSecret| {
            es.managed_fields_mut().clear();
        })
        .reflect(es_writer)
        .filter_map({
            let mut acted_on = ActedOnFilter::default();
            move |event| {
                std::future::ready(match event {
                    Ok(event) => acted_on.pass(event).map(Ok),
                    Err(error) => Some(Err(error)),
                })
            }
        });
    let es_controller = Controller::for_stream(es_stream, es_reader).with_config(config.clone());
    let by_store = es_controller.store();
    let by_cluster_store = es_controller.store();
    let es_cache = es_controller.store();
    // Managed Secrets as metadata only: their owner references are all the
    // trigger needs, and the cache never holds their data.
    let managed = watcher(
        Api::<PartialObjectMeta<Secret>>::all(client.clone()),
        watcher::Config::default().labels(&format!("{MANAGED_LABEL}=true")),
    )
    .default_backoff()
    .touched_objects();
    // The stores as reconciles read them ([`Lookups`]): each change lands
    // in the cache before it triggers the ExternalSecrets that use it.
    let (store_lookup, store_stream) = cached(Api::<SecretStore>::all(client.clone()));
    let (cluster_store_lookup, cluster_store_stream) =
        cached(Api::<ClusterSecretStore>::all(client.clone()));
    let (account_lookup, accounts) = cached(Api::<PartialObjectMeta<ServiceAccount>>::all(
        client.clone(),
    ));
    let accounts = accounts.for_each(|_| std::future::ready(()));
    let accounts = async move {
        tokio::select! {
            () = accounts => {}
            () = shutdown_accounts.cancelled() => {}
        }
    };
    ctx.set_lookups(Lookups {
        stores: store_lookup,
        cluster_stores: cluster_store_lookup,
        accounts: account_lookup,
    });
    let es_controller = es_controller
        .owns_stream(managed)
        .watches_stream(store_stream, move |store: SecretStore| {
            users(
                &by_store,
                StoreKind::SecretStore,
                &store.name_any(),
                store.namespace().as_deref(),
            )
        })
        .watches_stream(cluster_store_stream, move |store: ClusterSecretStore| {
            users(
                &by_cluster_store,
                StoreKind::ClusterSecretStore,
                &store.name_any(),
                None,
            )
        })
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(
            |es, ctx| bounded(reconcile(es, ctx)),
            error_policy,
            Arc::clone(&ctx),
        )
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "controller event");
            }
        });
    let es_controller = until_stopped(es_controller, es_cache.clone(), &shutdown);
    let stores = Controller::new(
        Api::<SecretStore>::all(client.clone()),
        watcher::Config::default(),
    );
    let store_cache = stores.store();
    let stores = stores
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(
            |store, ctx| bounded(reconcile_store(store, ctx)),
            error_policy,
            Arc::clone(&ctx),
        )
        .for_each(|_| async {});
    let stores = until_stopped(stores, store_cache.clone(), &shutdown);
    let cluster_stores = Controller::new(
        Api::<ClusterSecretStore>::all(client.clone()),
        watcher::Config::default(),
    );
    let cluster_store_cache = cluster_stores.store();
    let cluster_stores = cluster_stores
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(
            |store, ctx| bounded(reconcile_cluster_store(store, ctx)),
            error_policy,
            Arc::clone(&ctx),
        )
        .for_each(|_| async {});
    let cluster_stores = until_stopped(cluster_stores, cluster_store_cache.clone(), &shutdown);
    // ClusterExternalSecrets: again when one of their ExternalSecrets
    // changes or goes, and when a namespace they select or provisioned
    // comes, goes or is relabelled.
    let ces_controller = Controller::new(
        Api::<ClusterExternalSecret>::all(client.clone()),
        watcher::Config::default(),
    );
    let ces_cache = ces_controller.store();
    let by_namespace = ces_controller.store();
    let ces_controller = ces_controller
        .owns(Api::<ExternalSecret>::all(client.clone()), watch_config())
        .watches(
            Api::<Namespace>::all(client),
            watcher::Config::default(),
            move |namespace: Namespace| {
                cluster_external_secret::concerned(&by_namespace.state(), &namespace)
            },
        )
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(
            |ces, ctx| bounded(reconcile_cluster_external_secret(ces, ctx)),
            error_policy,
            Arc::clone(&ctx),
        )
        .for_each(|_| async {});
    let ces_controller = until_stopped(ces_controller, ces_cache.clone(), &shutdown);
    let push_controller = Controller::new(
        Api::<PushSecret>::all(ctx.client.clone()),
        watcher::Config::default(),
    )
    .with_config(kube::runtime::controller::Config::default().concurrency(concurrency));
    let push_cache = push_controller.store();
    let push_controller = push_controller
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(
            |ps, ctx| bounded(reconcile_push_secret(ps, ctx)),
            error_policy,
            Arc::clone(&ctx),
        )
        .for_each(|_| async {});
    let push_controller = until_stopped(push_controller, push_cache.clone(), &shutdown);
    let shutdown_report = shutdown.clone();
    let report_synced = async move {
        let shutdown = shutdown_report;
        let caches = async {
            let _ = es_cache.wait_until_ready().await;
            let _ = store_cache.wait_until_ready().await;
            let _ = cluster_store_cache.wait_until_ready().await;
            let _ = ces_cache.wait_until_ready().await;
            let _ = push_cache.wait_until_ready().await;
        };
        tokio::select! {
            () = caches => {
                tracing::info!("caches synced");
                synced.send_replace(true);
            }
            () = shutdown.cancelled() => {}
        }
    };
    join3(
        join5(
            es_controller,
            stores,
            cluster_stores,
            ces_controller,
            push_controller,
        ),
        report_synced,
        accounts,
    )
    .await;
    ctx.clear_lookups();
}

/// A watch of every object of `api` held in a cache without
/// `managedFields`, and the stream of the objects it touched (applied or
/// deleted), each in the cache before the stream yields it.
fn cached<K>(
    api: Api<K>,
) -> (
    Store<K>,
    impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = kube::runtime::reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|object: &mut K| object.managed_fields_mut().clear())
        .reflect(writer)
        .touched_objects();
    (reader, stream)
}

/// Objects per page of the ExternalSecret watches' listings. A response
/// is read into a buffer its connection keeps (hyper's, up to 400 KiB):
/// 500 ExternalSecrets, the default, are about 650 KB of JSON.
const LIST_PAGE: u32 = 100;

/// The ExternalSecret watches' configuration.
fn watch_config() -> watcher::Config {
    watcher::Config::default().page_size(LIST_PAGE)
}

/// The hash of what an ExternalSecret's reconcile acts on: its
/// generation, labels, annotations (`force-sync` included), finalizers
/// and deletion; never its status.
fn acted_on(es: &ExternalSecret) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    es.meta().generation.hash(&mut hasher);
    es.labels().hash(&mut hasher);
    es.annotations().hash(&mut hasher);
    es.finalizers().hash(&mut hasher);
    es.meta().deletion_timestamp.is_some().hash(&mut hasher);
    hasher.finish()
}

/// An object's key in [`ActedOnFilter`]: its uid's 128 bits (the API
/// server's uids are UUIDs), or a hash of its namespace, name and uid.
fn uid_key(es: &ExternalSecret) -> u128 {
    let uid = es.meta().uid.as_deref().unwrap_or_default();
    match uuid::Uuid::try_parse(uid) {
        Ok(key) => key.as_u128(),
        Err(_) => {
            use std::hash::{Hash as _, Hasher as _};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (es.namespace(), es.name_any(), uid).hash(&mut hasher);
            u128::from(hasher.finish())
        }
    }
}

/// Which watch events of ExternalSecrets start a reconcile: an object
/// seen for the first time or whose [`acted_on`] hash changed. The status,
/// which only this controller writes, still reaches the cache (the filter
/// comes after it) but not the queue: each sync's own status write would
/// otherwise bring a second reconcile of every ExternalSecret.
/// kube-runtime's predicate filter does the same keeping each object's
/// name, namespace and uid as strings; this keeps 24 bytes per object
/// (2 MB less at 10,000), and forgets objects a relisting no longer shows.
#[derive(Debug, Default)]
struct ActedOnFilter {
    seen: std::collections::HashMap<u128, u64>,
    /// What a relisting in progress has shown so far.
    relisting: Option<std::collections::HashMap<u128, u64>>,
}

impl ActedOnFilter {
    /// The object of `event` when it should be reconciled.
    fn pass(&mut self, event: watcher::Event<ExternalSecret>) -> Option<ExternalSecret> {
        match event {
            watcher::Event::Apply(es) => {
                let hash = acted_on(&es);
                (self.seen.insert(uid_key(&es), hash) != Some(hash)).then_some(es)
            }
            watcher::Event::InitApply(es) => {
                let (key, hash) = (uid_key(&es), acted_on(&es));
                let changed = self.seen.get(&key) != Some(&hash);
                self.relisting
                    .get_or_insert_with(Default::default)
                    .insert(key, hash);
                changed.then_some(es)
            }
            watcher::Event::Delete(es) => {
                self.seen.remove(&uid_key(&es));
                None
            }
            watcher::Event::Init => {
                self.relisting = Some(std::collections::HashMap::new());
                None
            }
            watcher::Event::InitDone => {
                if let Some(listed) = self.relisting.take() {
                    self.seen = listed;
                }
                None
            }
        }
    }
}

/// What reconciles look up by name, as the controller's watches hold it:
/// the stores and the ServiceAccounts (metadata only, which is all an
/// identity needs). A name the cache does not hold (not yet seen, or the
/// cache still filling) is read from the API server instead, so a
/// missing object is only ever reported by the API server itself.
#[derive(Clone)]
pub(crate) struct Lookups {
    stores: Store<SecretStore>,
    cluster_stores: Store<ClusterSecretStore>,
    accounts: Store<PartialObjectMeta<ServiceAccount>>,
}

impl Lookups {
    pub(crate) fn store(&self, namespace: &str, name: &str) -> Option<Arc<SecretStore>> {
        self.stores.get(&ObjectRef::new(name).within(namespace))
    }

    pub(crate) fn cluster_store(&self, name: &str) -> Option<Arc<ClusterSecretStore>> {
        self.cluster_stores.get(&ObjectRef::new(name))
    }

    pub(crate) fn account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<PartialObjectMeta<ServiceAccount>>> {
        self.accounts.get(&ObjectRef::new(name).within(namespace))
    }
}

/// Runs `controller` until it ends, which after `shutdown` is once the
/// reconciles in flight have finished. kube-runtime's runner starts nothing
/// before the controller's `cache` has its first listing, and at shutdown
/// it still waits for that listing, which no longer comes: a controller
/// told to stop before its cache filled (a term that ends at start-up, an
/// API server slow to list) would never end, holding the Lease until the
/// grace runs out. Such a controller has run no reconcile, so it is dropped
/// at once.
async fn until_stopped<K>(
    controller: impl Future<Output = ()>,
    cache: Store<K>,
    shutdown: &tokio_util::sync::CancellationToken,
) where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    let mut controller = std::pin::pin!(controller);
    tokio::select! {
        () = &mut controller => return,
        () = shutdown.cancelled() => {}
    }
    // Readiness never goes back: not ready now means no reconcile started.
    if matches!(cache.wait_until_ready().now_or_never(), Some(Ok(()))) {
        controller.await;
    } else {
        tracing::debug!(kind = %K::kind(&Default::default()), "stopped before its cache filled");
    }
}

/// `reconcile` within [`RECONCILE_DEADLINE`].
async fn bounded(
    reconcile: impl Future<Output = Result<Action, ReconcileError>>,
) -> Result<Action, ReconcileError> {
    tokio::time::timeout(RECONCILE_DEADLINE, reconcile)
        .await
        .unwrap_or(Err(ReconcileError::TimedOut(RECONCILE_DEADLINE)))
}

/// The ExternalSecrets that read from a store.
fn users(
    cache: &kube::runtime::reflector::Store<ExternalSecret>,
    kind: StoreKind,
    name: &str,
    namespace: Option<&str>,
) -> Vec<ObjectRef<ExternalSecret>> {
    cache
        .state()
        .iter()
        .filter(|es| {
            es.spec.secret_store_ref.kind == kind
                && es.spec.secret_store_ref.name == name
                && (namespace.is_none() || es.namespace().as_deref() == namespace)
        })
        .map(|es| ObjectRef::from_obj(es.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use kube::runtime::watcher::Event;

    fn es(uid: &str, generation: i64, refresh_time: &str) -> ExternalSecret {
        let mut es: ExternalSecret = serde_json::from_value(serde_json::json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": "db", "namespace": "team-a", "uid": uid, "generation": generation},
            "spec": {"secretStoreRef": {"name": "kv"}, "data": [
                {"secretKey": "v", "remoteRef": {"key": "db"}}
            ]},
        }))
        .unwrap();
        es.status = Some(crate::api::ExternalSecretStatus {
            refresh_time: Some(refresh_time.to_owned()),
            ..Default::default()
        });
        es
    }

    const A: &str = "0b6a1f3e-0000-4000-8000-00000000000a";
    const B: &str = "0b6a1f3e-0000-4000-8000-00000000000b";

    #[test]
    fn a_status_write_does_not_reconcile_again_and_a_spec_or_label_change_does() {
        let mut filter = ActedOnFilter::default();
        assert!(filter.pass(Event::Apply(es(A, 1, "t0"))).is_some(), "new");
        assert!(
            filter.pass(Event::Apply(es(A, 1, "t1"))).is_none(),
            "status only"
        );
        assert!(filter.pass(Event::Apply(es(A, 2, "t1"))).is_some(), "spec");
        let mut labelled = es(A, 2, "t2");
        labelled
            .labels_mut()
            .insert("team".to_owned(), "a".to_owned());
        assert!(filter.pass(Event::Apply(labelled)).is_some(), "label");
        let mut forced = es(A, 2, "t2");
        forced.annotations_mut().insert(
            crate::target::FORCE_SYNC_ANNOTATION.to_owned(),
            "1".to_owned(),
        );
        assert!(filter.pass(Event::Apply(forced)).is_some(), "force-sync");
        let mut deleting = es(A, 2, "t2");
        deleting.meta_mut().deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::now(),
            ));
        assert!(filter.pass(Event::Apply(deleting)).is_some(), "deletion");
        // Another object of the same name (recreated): its own key.
        assert!(filter.pass(Event::Apply(es(B, 2, "t2"))).is_some());
    }

    #[test]
    fn a_relisting_passes_what_changed_and_forgets_what_it_no_longer_shows() {
        let mut filter = ActedOnFilter::default();
        filter.pass(Event::Apply(es(A, 1, "t0")));
        filter.pass(Event::Apply(es(B, 1, "t0")));
        assert_eq!(filter.seen.len(), 2);
        // The watch restarts; B was deleted while it was down, A changed
        // its status only.
        assert!(filter.pass(Event::Init).is_none());
        assert!(filter.pass(Event::InitApply(es(A, 1, "t1"))).is_none());
        assert!(filter.pass(Event::InitDone).is_none());
        assert_eq!(filter.seen.len(), 1, "B forgotten");
        // A relisting that shows a changed spec passes it.
        filter.pass(Event::Init);
        assert!(filter.pass(Event::InitApply(es(A, 3, "t1"))).is_some());
        filter.pass(Event::InitDone);
        assert!(filter.pass(Event::Apply(es(A, 3, "t2"))).is_none());
        // A deletion forgets at once.
        filter.pass(Event::Delete(es(A, 3, "t2")));
        assert!(filter.seen.is_empty());
    }

    #[test]
    fn uids_are_keys_without_loss() {
        assert_ne!(uid_key(&es(A, 1, "t")), uid_key(&es(B, 1, "t")));
        assert_eq!(
            uid_key(&es(A, 1, "t")),
            0x0b6a1f3e_0000_4000_8000_00000000000a
        );
        // Not a UUID: a hash of namespace, name and uid.
        assert_ne!(uid_key(&es("x", 1, "t")), uid_key(&es("y", 1, "t")));
    }
}
