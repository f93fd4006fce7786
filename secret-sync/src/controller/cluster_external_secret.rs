//! The ClusterExternalSecret reconciler: lists the namespaces, writes or
//! deletes one ExternalSecret in each, writes the status. Every decision
//! is [`crate::cluster_es`]'s; this file only reads and writes the API
//! server, in the order of ESO's reconcile
//! (external-secrets/external-secrets
//! `pkg/controllers/clusterexternalsecret/clusterexternalsecret_controller.go`).
//!
//! Unlike ESO it puts no finalizer on the ClusterExternalSecret nor on the
//! namespaces: the ExternalSecrets it writes carry its controller
//! reference, so the API server's garbage collector removes them with it,
//! and with their namespace.

use std::{collections::BTreeMap, sync::Arc};

use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Resource as _, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    runtime::{controller::Action, reflector::ObjectRef},
};
use serde_json::{Value, json};

use super::{Context, external_secret::ReconcileError, status::publish};
use crate::{
    api::{ClusterExternalSecret, ClusterExternalSecretStatus, ExternalSecret},
    cluster_es::{self, ALREADY_EXISTS, DEFAULT_REFRESH},
};

fn kube_error(what: &'static str) -> impl Fn(kube::Error) -> ReconcileError {
    move |source| ReconcileError::Kube { what, source }
}

/// Deletes the ExternalSecret `name` in `namespace` if `ces_name` wrote it
/// (ESO's `deleteExternalSecret`: one it did not write, or none, is left).
async fn delete_if_owned(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    ces_name: &str,
) -> Result<(), kube::Error> {
    let api: Api<ExternalSecret> = Api::namespaced(client.clone(), namespace);
    match api.get_opt(name).await? {
        Some(es) if cluster_es::owned_by(&es, ces_name) => {
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
                Err(e) => Err(e),
            }
        }
        _ => Ok(()),
    }
}

/// Why a namespace got no ExternalSecret: the status's reason, and for a
/// write that lost a race (409: the ExternalSecret changed or appeared
/// since it was read) the error, so the reconcile is retried soon instead
/// of at the next refresh, as ESO requeues on a conflict.
struct Failure {
    reason: String,
    conflict: Option<kube::Error>,
}

impl Failure {
    fn text(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            conflict: None,
        }
    }
}

/// Writes the ExternalSecret of `ces` in `namespace`: created when
/// missing, brought up to date when it is one `ces` wrote, left alone (a
/// failure with ESO's text) when someone else's.
async fn provision(
    client: &kube::Client,
    ces: &ClusterExternalSecret,
    namespace: &str,
    name: &str,
) -> Result<(), Failure> {
    let api: Api<ExternalSecret> = Api::namespaced(client.clone(), namespace);
    let written = match api.get_opt(name).await {
        Err(e) => return Err(Failure::text(e.to_string())),
        Ok(Some(existing)) if !cluster_es::owned_by(&existing, &ces.name_any()) => {
            return Err(Failure::text(ALREADY_EXISTS));
        }
        Ok(Some(existing)) => match cluster_es::updated(&existing, ces) {
            Some(next) => api
                .replace(name, &PostParams::default(), &next)
                .await
                .map(drop),
            None => Ok(()),
        },
        Ok(None) => api
            .create(
                &PostParams::default(),
                &cluster_es::desired(ces, namespace, name),
            )
            .await
            .map(drop),
    };
    written.map_err(|e| {
        let reason = format!("could not create or update ExternalSecret: {e}");
        let conflict = matches!(&e, kube::Error::Api(status) if status.code == 409);
        Failure {
            reason,
            conflict: conflict.then_some(e),
        }
    })
}

/// The status as a merge patch that also clears what is empty now.
fn status_patch(status: &ClusterExternalSecretStatus) -> Value {
    let mut value = serde_json::to_value(status).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        for key in [
            "externalSecretName",
            "failedNamespaces",
            "provisionedNamespaces",
            "conditions",
        ] {
            object.entry(key).or_insert(Value::Null);
        }
    }
    json!({ "status": value })
}

async fn write_status(
    ctx: &Context,
    ces: &ClusterExternalSecret,
    status: &ClusterExternalSecretStatus,
) -> Result<(), ReconcileError> {
    if ces.status.as_ref() == Some(status) {
        return Ok(());
    }
    let api: Api<ClusterExternalSecret> = Api::all(ctx.client.clone());
    api.patch_status(
        &ces.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&status_patch(status)),
    )
    .await
    .map_err(kube_error("writing the ClusterExternalSecret's status"))?;
    Ok(())
}

/// A spec that cannot be served: the status says where and why, a Warning
/// event too, and nothing is written or deleted.
async fn spec_error(
    ctx: &Context,
    ces: &ClusterExternalSecret,
    name: &str,
    error: &cluster_es::SpecError,
) -> Result<Action, ReconcileError> {
    let status = cluster_es::spec_error_status(ces, name, error);
    let message = status
        .conditions
        .first()
        .and_then(|c| c.message.clone())
        .unwrap_or_default();
    publish(
        &ctx.recorder,
        &ces.object_ref(&()),
        true,
        "InvalidSpec",
        &message,
    )
    .await;
    write_status(ctx, ces, &status).await?;
    ctx.backoff.succeeded(&super::uid(ces));
    Ok(Action::requeue(DEFAULT_REFRESH))
}

/// Reconciles a ClusterExternalSecret.
///
/// # Errors
///
/// The namespaces cannot be listed, an ExternalSecret of a former name
/// cannot be deleted, or the status cannot be written: retried with
/// backoff. A failure in one namespace is in the status instead.
pub async fn reconcile_cluster_external_secret(
    ces: Arc<ClusterExternalSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    if ces.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let client = &ctx.client;
    let name = cluster_es::external_secret_name(&ces);
    let refresh = match cluster_es::refresh(&ces.spec) {
        Ok(refresh) => refresh,
        Err(error) => return spec_error(&ctx, &ces, &name, &error).await,
    };
    if let Some((previous, namespaces)) = cluster_es::renamed(ces.status.as_ref(), &name) {
        for namespace in namespaces {
            delete_if_owned(client, &namespace, &previous, &ces.name_any())
                .await
                .map_err(kube_error("deleting an ExternalSecret of the former name"))?;
        }
    }
    let listed = Api::<Namespace>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(kube_error("listing namespaces"))?;
    let terminating: Vec<String> = listed
        .items
        .iter()
        .filter(|n| n.metadata.deletion_timestamp.is_some())
        .map(ResourceExt::name_any)
        .collect();
    let namespaces: Vec<(String, BTreeMap<String, String>)> = listed
        .items
        .iter()
        .map(|n| (n.name_any(), n.labels().clone()))
        .collect();
    let selected = match cluster_es::selected_namespaces(&ces.spec, &namespaces) {
        Ok(selected) => selected,
        Err(error) => return spec_error(&ctx, &ces, &name, &error).await,
    };
    let mut failed = BTreeMap::new();
    let provisioned_before = ces
        .status
        .as_ref()
        .map(|s| s.provisioned_namespaces.clone())
        .unwrap_or_default();
    for namespace in cluster_es::removed_namespaces(&selected, &provisioned_before) {
        if let Err(e) = delete_if_owned(client, &namespace, &name, &ces.name_any()).await {
            failed.insert(
                namespace,
                format!("external secret in non matching namespace could not be deleted: {e}"),
            );
        }
    }
    let mut provisioned = Vec::new();
    let mut conflict = None;
    for namespace in selected {
        if terminating.contains(&namespace) {
            continue;
        }
        match provision(client, &ces, &namespace, &name).await {
            Ok(()) => provisioned.push(namespace),
            Err(failure) => {
                conflict = conflict.or(failure.conflict);
                failed.insert(namespace, failure.reason);
            }
        }
    }
    let status = cluster_es::status(&name, provisioned, &failed);
    write_status(&ctx, &ces, &status).await?;
    match conflict {
        Some(source) => Err(ReconcileError::Kube {
            what: "writing an ExternalSecret that changed meanwhile",
            source,
        }),
        None => {
            ctx.backoff.succeeded(&super::uid(ces.as_ref()));
            Ok(Action::requeue(refresh))
        }
    }
}

/// The ClusterExternalSecrets a change of `namespace` concerns: those
/// selecting it now, and those holding an ExternalSecret there (it may
/// have stopped matching).
#[must_use]
pub(super) fn concerned(
    all: &[Arc<ClusterExternalSecret>],
    namespace: &Namespace,
) -> Vec<ObjectRef<ClusterExternalSecret>> {
    let name = namespace.name_any();
    let labelled = [(name.clone(), namespace.labels().clone())];
    all.iter()
        .filter(|ces| {
            let provisioned = ces
                .status
                .as_ref()
                .is_some_and(|s| s.provisioned_namespaces.contains(&name));
            let selects = cluster_es::selected_namespaces(&ces.spec, &labelled)
                .map(|s| !s.is_empty())
                .unwrap_or(false);
            provisioned || selects
        })
        .map(|ces| ObjectRef::from_obj(ces.as_ref()))
        .collect()
}
