//! Store status: `Ready` with `Valid`, or why the store cannot be served,
//! and a Warning event for what works but is not what the user meant.

use std::{sync::Arc, time::Duration};

use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::controller::Action,
};
use serde_json::json;

use super::{
    Context,
    external_secret::ReconcileError,
    status::{publish, ready, reason},
};
use crate::{
    Error,
    api::{ClusterSecretStore, SecretStore, SecretStoreSpec, SecretStoreStatus},
    store,
};

/// How often a store is checked again (ESO's `--store-requeue-interval`).
const STORE_REQUEUE: Duration = Duration::from_secs(300);

fn condition(
    spec: &SecretStoreSpec,
    cluster: bool,
    previous: Option<&SecretStoreStatus>,
) -> (crate::api::Condition, Vec<String>, Option<String>) {
    let previous = previous
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    match store::check(spec, cluster) {
        Ok(checked) => {
            let message = if checked.warnings.is_empty() {
                "store validated".to_owned()
            } else {
                format!("store validated; {}", checked.warnings.join("; "))
            };
            (
                ready(previous, true, reason::VALID, &message),
                checked.warnings,
                None,
            )
        }
        Err(e) => {
            let reason = match e {
                Error::Unsupported { .. } => reason::INVALID_STORE_CONFIGURATION,
                _ => reason::INVALID_PROVIDER_CONFIG,
            };
            let message = e.to_string();
            (
                ready(previous, false, reason, &message),
                Vec::new(),
                Some(message),
            )
        }
    }
}

/// Reconciles a SecretStore.
///
/// # Errors
///
/// The status cannot be written.
pub async fn reconcile_store(
    store: Arc<SecretStore>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let api = Api::namespaced(ctx.client.clone(), &store.namespace().unwrap_or_default());
    let status = store.status.as_ref();
    let kind = Kind {
        spec: &store.spec,
        cluster: false,
        what: "writing the SecretStore's status",
    };
    reconcile_kind(store.as_ref(), api, kind, status, &ctx).await
}

/// Reconciles a ClusterSecretStore.
///
/// # Errors
///
/// The status cannot be written.
pub async fn reconcile_cluster_store(
    store: Arc<ClusterSecretStore>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let status = store.status.as_ref();
    let kind = Kind {
        spec: &store.spec.store,
        cluster: true,
        what: "writing the ClusterSecretStore's status",
    };
    reconcile_kind(
        store.as_ref(),
        Api::all(ctx.client.clone()),
        kind,
        status,
        &ctx,
    )
    .await
}

/// What tells the two store kinds apart.
struct Kind<'s> {
    spec: &'s SecretStoreSpec,
    cluster: bool,
    /// The status write, for its error.
    what: &'static str,
}

/// Either store kind: its Ready condition and events from its spec, its
/// status written.
async fn reconcile_kind<K>(
    store: &K,
    api: Api<K>,
    kind: Kind<'_>,
    previous: Option<&SecretStoreStatus>,
    ctx: &Context,
) -> Result<Action, ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let (ready, warnings, error) = condition(kind.spec, kind.cluster, previous);
    let reference = store.object_ref(&());
    report(ctx, &reference, &warnings, error.as_deref()).await;
    let status = json!({"status": {"conditions": [ready], "capabilities": "ReadWrite"}});
    api.patch_status(
        &store.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&status),
    )
    .await
    .map_err(|source| ReconcileError::Kube {
        what: kind.what,
        source,
    })?;
    ctx.backoff.succeeded(&super::uid(store));
    Ok(Action::requeue(STORE_REQUEUE))
}

async fn report(
    ctx: &Context,
    reference: &k8s_openapi::api::core::v1::ObjectReference,
    warnings: &[String],
    error: Option<&str>,
) {
    for warning in warnings {
        publish(&ctx.recorder, reference, true, "IgnoredField", warning).await;
    }
    if let Some(error) = error {
        publish(
            &ctx.recorder,
            reference,
            true,
            reason::INVALID_PROVIDER_CONFIG,
            error,
        )
        .await;
    }
}
