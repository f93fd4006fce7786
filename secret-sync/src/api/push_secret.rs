//! `PushSecret`: a Kubernetes Secret's keys written into Key Vault, the
//! other direction of an ExternalSecret.
//!
//! Fields, JSON names, defaults and status shape are ESO's
//! (external-secrets/external-secrets
//! `apis/externalsecrets/v1alpha1/pushsecret_types.go`), served as
//! `external-secrets.io/v1alpha1` as ESO serves it.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    LabelSelector, RewriteRegexp, RewriteTransform, StoreKind, TargetTemplate, Unsupported,
};

/// ESO's `PushSecretSpec`.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[kube(
    group = "external-secrets.io",
    version = "v1alpha1",
    kind = "PushSecret",
    namespaced,
    status = "PushSecretStatus",
    shortname = "ps",
    category = "external-secrets",
    printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Last Sync","type":"date","jsonPath":".status.refreshTime"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretSpec {
    /// How often to push again: a Go duration; default one hour; `0`
    /// pushes only when the PushSecret changes.
    #[serde(default = "default_refresh", skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<String>,
    /// The stores to push to, by name or by labels (required, as in ESO).
    pub secret_store_refs: Vec<PushSecretStoreRef>,
    /// `Replace` (the default) or `IfNotExists`.
    #[serde(default = "default_update", skip_serializing_if = "Option::is_none")]
    pub update_policy: Option<PushUpdatePolicy>,
    /// `None` (the default) leaves what was pushed in the vault; `Delete`
    /// deletes it when the PushSecret, an entry or the source goes.
    #[serde(default = "default_deletion", skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<PushDeletionPolicy>,
    /// The source Secret (required, as in ESO).
    pub selector: PushSecretSelector,
    /// Keys of the source pushed to remote keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<PushSecretData>,
    /// Many keys at once, per store: each matched key to its own remote
    /// key, or all of them as one JSON object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_to: Vec<PushSecretDataTo>,
    /// Values made from the source's (engine v2) before they are pushed;
    /// the source Secret itself is never changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TargetTemplate>,
    /// Fields this controller does not serve.
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `spec.updatePolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum PushUpdatePolicy {
    /// Write (objects this controller made only: others are refused).
    #[default]
    Replace,
    /// Write only what the vault does not have.
    IfNotExists,
}

/// `spec.deletionPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum PushDeletionPolicy {
    /// Delete pushed objects no longer pushed (its finalizer holds the
    /// PushSecret until they are).
    Delete,
    /// Leave them.
    #[default]
    None,
}

/// One `spec.secretStoreRefs[]` entry (ESO's `PushSecretStoreRef`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretStoreRef {
    /// A store by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: Option<String>,
    /// Every store of the kind whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// `SecretStore` (default) or `ClusterSecretStore`.
    #[serde(default)]
    pub kind: StoreKind,
}

/// `spec.selector`: exactly one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretSelector {
    /// A Secret of the PushSecret's namespace, by name or by labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<PushSecretSource>,
    /// Fields this controller does not serve (`generatorRef`).
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `spec.selector.secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretSource {
    /// The Secret's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: Option<String>,
    /// Every Secret of the namespace whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// One `spec.data[]` entry (ESO's `PushSecretData`), also what the
/// status records per remote key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretData {
    /// Which key goes where.
    #[serde(rename = "match")]
    pub match_: PushSecretMatch,
    /// Provider metadata: for Key Vault a `PushSecretMetadata` object
    /// (`spec.expirationDate`, `spec.tags`, `spec.contentType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub metadata: Option<serde_json::Value>,
    /// `None` (the default) or `ReverseUnicode` (`_U0020_` in a key
    /// stands for a space).
    #[serde(
        default = "default_conversion",
        skip_serializing_if = "Option::is_none"
    )]
    pub conversion_strategy: Option<PushConversionStrategy>,
}

/// `match`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretMatch {
    /// The source key; none pushes the whole Secret as one JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// Where it goes.
    pub remote_ref: PushSecretRemoteRef,
}

/// `match.remoteRef`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretRemoteRef {
    /// `name`, `secret/name`, `key/name` or `cert/name`.
    pub remote_key: String,
    /// A property of the remote object (recorded; Key Vault objects have
    /// none, as in ESO's azurekv provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

/// `conversionStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum PushConversionStrategy {
    /// Keys as they are.
    #[default]
    None,
    /// `_UXXXX_` (four or five hex digits) in a key becomes that character.
    ReverseUnicode,
}

/// One `spec.dataTo[]` entry (ESO's `PushSecretDataTo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretDataTo {
    /// The store (one of `secretStoreRefs`) it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<PushSecretStoreRef>,
    /// All matched keys as one JSON object under this remote key; none
    /// pushes each key to its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_key: Option<String>,
    /// Which keys: a regular expression (RE2); none matches all.
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub match_: Option<PushSecretDataToMatch>,
    /// Operations on each key's remote name, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrite: Vec<PushSecretRewrite>,
    /// As `data[].metadata`, for every entry made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub metadata: Option<serde_json::Value>,
    /// As `data[].conversionStrategy`.
    #[serde(
        default = "default_conversion",
        skip_serializing_if = "Option::is_none"
    )]
    pub conversion_strategy: Option<PushConversionStrategy>,
}

/// `dataTo[].match`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretDataToMatch {
    /// The expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<String>,
}

/// `dataTo[].rewrite[]`: exactly one of its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretRewrite {
    /// Replaced as Go's `regexp.ReplaceAllString` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<RewriteRegexp>,
    /// Replaced by a template's output (`.value` is the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<RewriteTransform>,
}

/// ESO's `PushSecretStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretStatus {
    /// When the last push finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<String>,
    /// The PushSecret's `metadata.resourceVersion` at that push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_resource_version: Option<String>,
    /// What was pushed where: by store (`SecretStore/name`), by remote key
    /// (`key` or `key/property`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub synced_push_secrets: BTreeMap<String, BTreeMap<String, PushSecretData>>,
    /// `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<super::Condition>,
}

// ESO's CRD defaults (`+kubebuilder:default`), so a stored PushSecret,
// and the entries its status copies, read as under ESO.
#[allow(clippy::unnecessary_wraps)]
fn default_refresh() -> Option<String> {
    Some("1h0m0s".to_owned())
}

#[allow(clippy::unnecessary_wraps)]
fn default_update() -> Option<PushUpdatePolicy> {
    Some(PushUpdatePolicy::Replace)
}

#[allow(clippy::unnecessary_wraps)]
fn default_deletion() -> Option<PushDeletionPolicy> {
    Some(PushDeletionPolicy::None)
}

#[allow(clippy::unnecessary_wraps)]
fn default_conversion() -> Option<PushConversionStrategy> {
    Some(PushConversionStrategy::None)
}

/// Any JSON value, kept as written (the schema of ESO's
/// `apiextensionsv1.JSON`).
fn any_json(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}
