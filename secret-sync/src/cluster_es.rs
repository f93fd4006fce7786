//! The decisions of a ClusterExternalSecret's reconcile, apart from the API
//! server: which namespaces it selects, the ExternalSecret it writes in
//! each, which ExternalSecrets it deletes, and its status. The controller
//! (`controller::cluster_external_secret`) only reads and writes.
//!
//! The behaviour is ESO's (external-secrets/external-secrets
//! `pkg/controllers/clusterexternalsecret/clusterexternalsecret_controller.go`
//! and `util.go`, and `runtime/esutils/utils.go` `GetTargetNamespaces`);
//! label selectors are [`crate::selector`]'s.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource as _, ResourceExt as _};

use crate::{
    api::{
        ClusterExternalSecret, ClusterExternalSecretCondition, ClusterExternalSecretSpec,
        ClusterExternalSecretStatus, ExternalSecret, GROUP, NamespaceFailure,
    },
    duration::parse_go_duration,
    selector::LabelQuery,
};

pub use crate::selector::SpecError;

/// The annotation a ClusterExternalSecret passes on to its ExternalSecrets
/// (and removes from them when it loses it): ESO's `AnnotationForceSync`.
pub const FORCE_SYNC: &str = "external-secrets.io/force-sync";

/// How often the namespaces are looked at again without `refreshTime`
/// (ESO's controller is started with one hour).
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);

/// ESO's reason for a namespace holding an ExternalSecret of that name
/// that this ClusterExternalSecret did not write.
pub const ALREADY_EXISTS: &str = "external secret already exists in namespace";

/// ESO's `Ready=False` message (`errNamespacesFailed`).
pub const NAMESPACES_FAILED: &str = "one or more namespaces failed";

/// The namespace ESO lists a failure under when the namespaces themselves
/// could not be chosen.
pub const UNKNOWN_NAMESPACE: &str = "unknown";

/// The ExternalSecrets' name: `externalSecretName`, else the
/// ClusterExternalSecret's own.
#[must_use]
pub fn external_secret_name(ces: &ClusterExternalSecret) -> String {
    ces.spec
        .external_secret_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| ces.name_any())
}

/// How long until the next look at the namespaces: `refreshTime`, else
/// [`DEFAULT_REFRESH`].
///
/// # Errors
///
/// `refreshTime` is not a Go duration.
pub fn refresh(spec: &ClusterExternalSecretSpec) -> Result<Duration, SpecError> {
    match &spec.refresh_time {
        None => Ok(DEFAULT_REFRESH),
        Some(text) => parse_go_duration(text).ok_or_else(|| SpecError {
            field: "spec.refreshTime".to_owned(),
            reason: format!("time: invalid duration {text:?}"),
        }),
    }
}

/// The namespaces selected, sorted, out of `namespaces` (each name with
/// its labels): those named in `namespaces` that exist, and those any
/// selector (`namespaceSelector` or one of `namespaceSelectors`) matches.
/// ESO selects a name through the `kubernetes.io/metadata.name` label the
/// API server sets; the name is matched here directly, the same on
/// servers that set the label and on the 1.20 servers that do not yet.
///
/// # Errors
///
/// A selector that does not parse, named by its field; nothing is
/// selected then (ESO's `GetTargetNamespaces` stops too).
pub fn selected_namespaces(
    spec: &ClusterExternalSecretSpec,
    namespaces: &[(String, BTreeMap<String, String>)],
) -> Result<Vec<String>, SpecError> {
    let mut selectors = Vec::new();
    if let Some(selector) = &spec.namespace_selector {
        selectors.push(LabelQuery::parse(selector, "spec.namespaceSelector")?);
    }
    for (i, selector) in spec.namespace_selectors.iter().enumerate() {
        selectors.push(LabelQuery::parse(
            selector,
            &format!("spec.namespaceSelectors[{i}]"),
        )?);
    }
    let chosen: BTreeSet<String> = namespaces
        .iter()
        .filter(|(name, labels)| {
            spec.namespaces.contains(name) || selectors.iter().any(|query| query.matches(labels))
        })
        .map(|(name, _)| name.clone())
        .collect();
    Ok(chosen.into_iter().collect())
}

/// Namespaces provisioned before and no longer selected, whose
/// ExternalSecret is deleted (ESO's `getRemovedNamespaces`).
#[must_use]
pub fn removed_namespaces(selected: &[String], provisioned: &[String]) -> Vec<String> {
    provisioned
        .iter()
        .filter(|ns| !selected.contains(ns))
        .cloned()
        .collect()
}

/// When `externalSecretName` changed since the last status, the old name
/// and the namespaces its ExternalSecrets are in, to delete them.
#[must_use]
pub fn renamed(
    status: Option<&ClusterExternalSecretStatus>,
    name: &str,
) -> Option<(String, Vec<String>)> {
    let status = status?;
    let previous = status.external_secret_name.as_deref()?;
    (!previous.is_empty() && previous != name)
        .then(|| (previous.to_owned(), status.provisioned_namespaces.clone()))
}

/// Whether `es` is controlled by the ClusterExternalSecret `ces_name`
/// (ESO's `isExternalSecretOwnedBy`: the controller reference's group,
/// kind and name). One that is not is never written over nor deleted.
#[must_use]
pub fn owned_by(es: &ExternalSecret, ces_name: &str) -> bool {
    es.owner_references().iter().any(|o| {
        o.controller == Some(true)
            && o.kind == "ClusterExternalSecret"
            && o.api_version.split('/').next() == Some(GROUP)
            && o.name == ces_name
    })
}

/// The controller reference an ExternalSecret of `ces` carries.
fn controller_reference(ces: &ClusterExternalSecret) -> OwnerReference {
    OwnerReference {
        api_version: ClusterExternalSecret::api_version(&()).into_owned(),
        kind: ClusterExternalSecret::kind(&()).into_owned(),
        name: ces.name_any(),
        uid: ces.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Labels and annotations from `externalSecretMetadata`, with the
/// ClusterExternalSecret's force-sync annotation if it has one.
fn metadata_of(
    ces: &ClusterExternalSecret,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let metadata = ces
        .spec
        .external_secret_metadata
        .clone()
        .unwrap_or_default();
    let mut annotations = metadata.annotations;
    if let Some(value) = ces.annotations().get(FORCE_SYNC) {
        annotations.insert(FORCE_SYNC.to_owned(), value.clone());
    } else {
        annotations.remove(FORCE_SYNC);
    }
    (metadata.labels, annotations)
}

/// The ExternalSecret `ces` writes into `namespace` under `name`: its
/// metadata, its spec, controlled by `ces`.
#[must_use]
pub fn desired(ces: &ClusterExternalSecret, namespace: &str, name: &str) -> ExternalSecret {
    let (labels, annotations) = metadata_of(ces);
    let mut es = ExternalSecret::new(name, ces.spec.external_secret_spec.clone());
    es.metadata = ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: (!labels.is_empty()).then_some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        owner_references: Some(vec![controller_reference(ces)]),
        ..ObjectMeta::default()
    };
    es
}

/// `existing` (written by `ces`) brought to what `ces` says: labels and
/// annotations replaced, the spec replaced, the controller reference set
/// (other owners kept), as ESO's `CreateOrUpdate` mutation does; `None`
/// when it already is, so nothing is written.
#[must_use]
pub fn updated(existing: &ExternalSecret, ces: &ClusterExternalSecret) -> Option<ExternalSecret> {
    let (labels, annotations) = metadata_of(ces);
    let mut next = existing.clone();
    next.metadata.labels = (!labels.is_empty()).then_some(labels);
    next.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    next.spec = ces.spec.external_secret_spec.clone();
    let reference = controller_reference(ces);
    let owners = next.metadata.owner_references.get_or_insert_with(Vec::new);
    owners.retain(|o| o.controller != Some(true));
    owners.push(reference);
    let same_owners = {
        let mut a = existing
            .metadata
            .owner_references
            .clone()
            .unwrap_or_default();
        let mut b = owners.clone();
        a.sort_by(|x, y| x.uid.cmp(&y.uid));
        b.sort_by(|x, y| x.uid.cmp(&y.uid));
        a == b
    };
    let empty_is_none = |m: &Option<BTreeMap<String, String>>| m.clone().filter(|m| !m.is_empty());
    let unchanged = same_owners
        && empty_is_none(&existing.metadata.labels) == next.metadata.labels
        && empty_is_none(&existing.metadata.annotations) == next.metadata.annotations
        && existing.spec == next.spec;
    (!unchanged).then_some(next)
}

/// The `Ready` condition: `True` with no failure, else `False` with ESO's
/// message.
fn ready(failed: bool, message: Option<String>) -> ClusterExternalSecretCondition {
    ClusterExternalSecretCondition {
        type_: "Ready".to_owned(),
        status: if failed { "False" } else { "True" }.to_owned(),
        message: failed.then(|| message.unwrap_or_else(|| NAMESPACES_FAILED.to_owned())),
    }
}

/// The status after a reconcile: the name written under, the namespaces
/// provisioned and failed (each sorted), `Ready`.
#[must_use]
pub fn status(
    name: &str,
    mut provisioned: Vec<String>,
    failed: &BTreeMap<String, String>,
) -> ClusterExternalSecretStatus {
    provisioned.sort();
    provisioned.dedup();
    ClusterExternalSecretStatus {
        external_secret_name: Some(name.to_owned()),
        failed_namespaces: failed
            .iter()
            .map(|(namespace, reason)| NamespaceFailure {
                namespace: namespace.clone(),
                reason: Some(reason.clone()),
            })
            .collect(),
        provisioned_namespaces: provisioned,
        conditions: vec![ready(!failed.is_empty(), None)],
    }
}

/// The status when the spec cannot be served: the failure under
/// [`UNKNOWN_NAMESPACE`] as ESO lists it, and a `Ready=False` message
/// naming the object, the field and the reason. The namespaces provisioned
/// before are kept, as their ExternalSecrets are: nothing is deleted on
/// input that does not parse.
#[must_use]
pub fn spec_error_status(
    ces: &ClusterExternalSecret,
    name: &str,
    error: &SpecError,
) -> ClusterExternalSecretStatus {
    let provisioned = ces
        .status
        .as_ref()
        .map(|s| s.provisioned_namespaces.clone())
        .unwrap_or_default();
    let reason = format!("ClusterExternalSecret {:?}: {error}", ces.name_any());
    ClusterExternalSecretStatus {
        external_secret_name: Some(name.to_owned()),
        failed_namespaces: vec![NamespaceFailure {
            namespace: UNKNOWN_NAMESPACE.to_owned(),
            reason: Some(reason.clone()),
        }],
        provisioned_namespaces: provisioned,
        conditions: vec![ready(true, Some(format!("{NAMESPACES_FAILED}: {reason}")))],
    }
}

#[cfg(test)]
#[path = "cluster_es_tests.rs"]
mod tests;
