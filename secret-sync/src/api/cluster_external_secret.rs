//! `ClusterExternalSecret`: one ExternalSecret spec written into every
//! namespace it selects, so a team's Secret follows its namespaces.
//!
//! Fields, JSON names and status shape are ESO's
//! (external-secrets/external-secrets
//! `apis/externalsecrets/v1/clusterexternalsecret_types.go`).

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ExternalSecretSpec, LabelSelector};

/// ESO's `ClusterExternalSecretSpec`.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ClusterExternalSecret",
    status = "ClusterExternalSecretStatus",
    shortname = "ces",
    category = "external-secrets",
    printcolumn = r#"{"name":"Store","type":"string","jsonPath":".spec.externalSecretSpec.secretStoreRef.name"}"#,
    printcolumn = r#"{"name":"Refresh Interval","type":"string","jsonPath":".spec.refreshTime"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterExternalSecretSpec {
    /// The spec of the ExternalSecret written into each namespace.
    pub external_secret_spec: ExternalSecretSpec,
    /// The name of those ExternalSecrets; default the
    /// ClusterExternalSecret's own name. ESO's length and DNS-subdomain
    /// pattern, so the API server refuses a name no ExternalSecret can have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub external_secret_name: Option<String>,
    /// Labels and annotations of those ExternalSecrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_secret_metadata: Option<ExternalSecretMetadata>,
    /// One label selector (ESO deprecates it for `namespaceSelectors`, and
    /// still serves it: ORed with the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Label selectors, ORed: a namespace any of them matches is selected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_selectors: Vec<LabelSelector>,
    /// Namespaces by name, ORed with the selectors; a name that does not
    /// exist (yet) is skipped. Each a DNS label, as ESO's CRD has it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    ))]
    pub namespaces: Vec<String>,
    /// How often the namespaces are listed and the ExternalSecrets written
    /// again: a Go duration; default one hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<String>,
}

/// `externalSecretMetadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretMetadata {
    /// Annotations of each ExternalSecret written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Labels of each ExternalSecret written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// ESO's `ClusterExternalSecretStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClusterExternalSecretStatus {
    /// The name the ExternalSecrets were written under, so a rename
    /// deletes the old ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_secret_name: Option<String>,
    /// Namespaces where no ExternalSecret could be written, sorted, each
    /// with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_namespaces: Vec<NamespaceFailure>,
    /// Namespaces holding an ExternalSecret written by this object, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provisioned_namespaces: Vec<String>,
    /// `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ClusterExternalSecretCondition>,
}

/// ESO's `ClusterExternalSecretNamespaceFailure`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceFailure {
    /// The namespace (`unknown` when the namespaces could not be listed).
    pub namespace: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// ESO's `ClusterExternalSecretStatusCondition`: type, status, message
/// (no reason, no transition time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClusterExternalSecretCondition {
    /// `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True` or `False`.
    pub status: String,
    /// Why not ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
