//! The controller: one kube-rs runtime controller per kind, sharing one
//! [`Context`] (the Key Vault reader, the token cache, the event recorder,
//! metrics). ExternalSecrets are reconciled again when their store, or
//! the Secret they manage, changes.

mod external_secret;
mod status;
mod stores;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

pub use external_secret::{FINALIZER, ReconcileError, reconcile};
use futures::{StreamExt as _, future::join3};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, ResourceExt,
    runtime::{
        Controller,
        controller::Action,
        events::{Recorder, Reporter},
        reflector::ObjectRef,
        watcher,
    },
};
pub use stores::{reconcile_cluster_store, reconcile_store};

use crate::{
    api::{ClusterSecretStore, ExternalSecret, SecretStore, StoreKind},
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
    pub recorder: Recorder,
    /// The controller's `AZURE_TENANT_ID`, the last tenant fallback.
    pub controller_tenant: Option<String>,
    /// Counters.
    pub metrics: Counters,
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
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "secret-sync".to_owned(),
                instance: std::env::var("POD_NAME").ok(),
            },
        );
        Self {
            client,
            reader,
            tokens: Tokens::default(),
            recorder,
            controller_tenant,
            metrics: Counters::default(),
        }
    }
}

fn error_policy<K>(_object: Arc<K>, error: &ReconcileError, _ctx: Arc<Context>) -> Action {
    tracing::warn!(%error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(10))
}

/// Runs the three controllers until `shutdown` is cancelled.
pub async fn run(
    ctx: Arc<Context>,
    concurrency: u16,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let client = ctx.client.clone();
    let external_secrets: Api<ExternalSecret> = Api::all(client.clone());
    // Writing a Secret and then the status triggers two watch events; the
    // debounce lets the second land in the cache before the reconcile they
    // cause reads it, so a fresh sync is not repeated for the first.
    let config = kube::runtime::controller::Config::default()
        .concurrency(concurrency)
        .debounce(Duration::from_secs(1));
    let es_controller =
        Controller::new(external_secrets, watcher::Config::default()).with_config(config.clone());
    let by_store = es_controller.store();
    let by_cluster_store = es_controller.store();
    let es_controller = es_controller
        .owns(
            Api::<Secret>::all(client.clone()),
            watcher::Config::default().labels(&format!("{MANAGED_LABEL}=true")),
        )
        .watches(
            Api::<SecretStore>::all(client.clone()),
            watcher::Config::default(),
            move |store: SecretStore| {
                users(
                    &by_store,
                    StoreKind::SecretStore,
                    &store.name_any(),
                    store.namespace().as_deref(),
                )
            },
        )
        .watches(
            Api::<ClusterSecretStore>::all(client.clone()),
            watcher::Config::default(),
            move |store: ClusterSecretStore| {
                users(
                    &by_cluster_store,
                    StoreKind::ClusterSecretStore,
                    &store.name_any(),
                    None,
                )
            },
        )
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(reconcile, error_policy, Arc::clone(&ctx))
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "controller event");
            }
        });
    let stores = Controller::new(
        Api::<SecretStore>::all(client.clone()),
        watcher::Config::default(),
    )
    .graceful_shutdown_on(shutdown.clone().cancelled_owned())
    .run(reconcile_store, error_policy, Arc::clone(&ctx))
    .for_each(|_| async {});
    let cluster_stores = Controller::new(
        Api::<ClusterSecretStore>::all(client),
        watcher::Config::default(),
    )
    .graceful_shutdown_on(shutdown.cancelled_owned())
    .run(reconcile_cluster_store, error_policy, ctx)
    .for_each(|_| async {});
    join3(es_controller, stores, cluster_stores).await;
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
